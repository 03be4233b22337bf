"""Plan limits, enforced before anything is written: a refused request changes nothing.
Counters are DynamoDB items with an expiry (checked by the condition itself, since TTL deletes
late on AWS and never on moto); projects on plans without a limit pay no counter writes."""
from datetime import datetime, timezone

from ..aws import store
from ..core import clock, plans
from ..core.errors import QuotaExceeded
from . import projects


def _limits(project_id: str) -> dict:
    return plans.limits(projects.plan(project_id))


def check_payload(project_id: str, payload_text: str) -> None:
    cap = _limits(project_id)["payload_bytes"]
    if cap is not None and len(payload_text.encode()) > cap:
        raise QuotaExceeded(f"The payload is over your plan's {cap // 1024} KB limit; send a smaller "
                            "payload or a reference to stored data.", field="payload",
                            limit="payload_bytes", limit_value=cap, resets_at=None)


def take_deliveries(project_id: str, count: int = 1) -> None:
    """Count `count` new deliveries against the per-second and per-day limits, or refuse."""
    lim = _limits(project_id)
    now = clock.now()
    second = int(now)
    taken = []
    try:
        if lim["publishes_per_second"] is not None:
            _take(project_id, f"SEC#{second}", 1, lim["publishes_per_second"], second + 1,
                  "publishes_per_second", "requests per second")
            taken.append(f"SEC#{second}")
        if lim["deliveries_per_day"] is not None:
            _take_day(project_id, count, lim["deliveries_per_day"], now)
    except QuotaExceeded:
        for sk in taken:   # give back what this refused request took
            store.update(f"USAGE#{project_id}", sk, {}, adds={"n": -1})
        raise


def take_scheduled_run(project_id: str) -> bool:
    """One scheduled cron run against the deliveries-per-day limit; False when over it. (The
    per-second limit is for requests, which a schedule is not.) A firing Scheduler delivers
    twice may count twice: rare, and only ever against the caller's own limit."""
    limit = _limits(project_id)["deliveries_per_day"]
    if limit is None:
        return True
    try:
        _take_day(project_id, 1, limit, clock.now())
        return True
    except QuotaExceeded:
        return False


def _take_day(project_id: str, count: int, limit: int, now: float) -> None:
    day = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%d")
    _take(project_id, f"DAY#{day}", count, limit, (int(now) // 86400 + 1) * 86400,
          "deliveries_per_day", "deliveries today (UTC)")


def _take(project_id: str, sk: str, count: int, limit: int, resets: int, name: str, what: str) -> None:
    try:
        store.update(f"USAGE#{project_id}", sk, {"ttl": resets + 86400}, adds={"n": count},
                     condition="attribute_not_exists(n) OR n <= :room", values={":room": limit - count})
    except store.ConditionFailed:
        raise QuotaExceeded(f"Your plan allows {limit} {what}; this request would exceed it. It resets at "
                            f"{clock.rfc3339(resets)}.", limit=name, limit_value=limit,
                            resets_at=clock.rfc3339(resets)) from None
    if count > limit:
        raise QuotaExceeded(f"Your plan allows {limit} {what}.", limit=name, limit_value=limit,
                            resets_at=clock.rfc3339(resets))


def check_active_cron_jobs(project_id: str, count_active) -> None:
    """`count_active()` is only called when the plan has a limit (it is a Query)."""
    cap = _limits(project_id)["active_cron_jobs"]
    if cap is not None and count_active() >= cap:
        raise QuotaExceeded(f"Your plan allows {cap} active cron jobs; pause or delete one first.",
                            field="enabled", limit="active_cron_jobs", limit_value=cap, resets_at=None)

