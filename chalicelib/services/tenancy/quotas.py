"""Plan limits, enforced atomically before anything is written: a refused request changes nothing.

Two kinds of counter, both DynamoDB items under `USAGE#<project>` changed only by conditional
writes (never count-then-create, which N concurrent requests all pass):
  * per-time counters (deliveries per day, requests per second) carry their expiry, checked by the
    condition itself (TTL deletes late on AWS and never on moto); plans without such a limit pay
    no counter write;
  * resource counters (cron jobs, queues, topics, API keys: each costs something while it
    exists) are changed in the same transaction as the record they count, so the count is the
    number of records, exactly, whatever the concurrency. Projects made before the counters existed get
    theirs seeded from a count on their first write."""
from contextlib import contextmanager
from datetime import datetime, timezone

from ...aws import keys, store
from ...core import clock, plans
from ...core.errors import InfraiError, PayloadTooLarge, QuotaExceeded
from . import counters, projects



def _limits(project_id: str) -> dict:
    return plans.limits(projects.plan(project_id))


def check_payload(project_id: str, payload_text: str) -> None:
    cap = _limits(project_id)["payload_bytes"]
    if cap is not None and len(payload_text.encode()) > cap:
        raise PayloadTooLarge(f"The payload is over your plan's {cap // 1024} KB limit; send a smaller "
                              "payload or a reference to stored data.", field="payload",
                              limit="payload_bytes", limit_value=cap)


def take_deliveries(project_id: str, count: int = 1) -> list[tuple[str, int]]:
    """Count `count` new deliveries (sends, publishes, triggers, replays) against the per-second
    and per-day limits, or refuse. Returns what it took, for `give_back`."""
    lim = _limits(project_id)
    now = clock.now()
    second = int(now)
    taken = []
    try:
        if lim["publishes_per_second"] is not None:
            _take(project_id, f"SEC#{second}", 1, lim["publishes_per_second"], second + 1,
                  "publishes_per_second", "requests per second")
            taken.append((f"SEC#{second}", 1))
        if lim["deliveries_per_day"] is not None:
            _take_day(project_id, count, lim["deliveries_per_day"], now)
            taken.append((f"DAY#{_day(now)}", count))
    except QuotaExceeded:
        give_back(project_id, taken)   # a refused request changes nothing
        raise
    return taken


def give_back(project_id: str, taken: list[tuple[str, int]]) -> None:
    for sk, count in taken:
        store.update(f"USAGE#{project_id}", sk, {}, adds={"n": -count})


@contextmanager
def deliveries_taken(project_id: str, count: int = 1):
    """Take `count` deliveries for the block; if the block refuses the request (any InfraiError:
    a queue over the plan's queue limit, a retry that lost a race), give them back."""
    taken = take_deliveries(project_id, count)
    try:
        yield taken
    except InfraiError:
        give_back(project_id, taken)
        raise


def take_attempt(project_id: str) -> float | None:
    """One HTTP attempt against the attempts-per-day limit (retries and replays make attempts too,
    so deliveries per day alone does not bound what a project sends). None: go ahead; else the
    time the limit frees, when the attempt is to be made instead (deferred, never dropped)."""
    limit = _limits(project_id)["attempts_per_day"]
    if limit is None:
        return None
    now = clock.now()
    try:
        _take(project_id, f"ATT#{_day(now)}", 1, limit, _next_day(now), "attempts_per_day", "attempts today (UTC)")
        return None
    except QuotaExceeded:
        return float(_next_day(now))


def take_scheduled_run(project_id: str, count: int = 1) -> bool:
    """One scheduled cron run (`count` deliveries: a run to a topic makes one per subscription)
    against the deliveries-per-day limit; False when over it. (The per-second limit is for
    requests, which a schedule is not.) A firing Scheduler delivers twice may count twice: rare,
    and only ever against the caller's own limit."""
    limit = _limits(project_id)["deliveries_per_day"]
    if limit is None or count == 0:
        return True
    try:
        _take_day(project_id, count, limit, clock.now())
        return True
    except QuotaExceeded:
        return False


def _take_day(project_id: str, count: int, limit: int, now: float) -> None:
    _take(project_id, f"DAY#{_day(now)}", count, limit, _next_day(now),
          "deliveries_per_day", "deliveries today (UTC)")


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%d")


def _next_day(now: float) -> int:
    return (int(now) // 86400 + 1) * 86400


def usage(project_id: str) -> dict:
    """What the project uses of its limits now, read from the counters the limits are enforced
    with. None where nothing counts it: a per-day number only on a plan with that daily limit
    (a plan without one pays no counter write), a resource counter not yet seeded."""
    out = {}
    for resource in counters.RESOURCES:
        item = store.get(*counters.counter_key(project_id, resource), consistent=False)
        out[resource] = int(item["n"]) if item else None
    limits, day = _limits(project_id), _day(clock.now())
    for name, prefix in (("deliveries_per_day", "DAY"), ("attempts_per_day", "ATT")):
        out[name] = None
        if limits.get(name) is not None:
            item = store.get(f"USAGE#{project_id}", f"{prefix}#{day}", consistent=False)
            out[name] = int(item["n"]) if item else 0
    return out


def _take(project_id: str, sk: str, count: int, limit: int, resets: int, name: str, what: str) -> None:
    if count > limit:
        raise QuotaExceeded(f"Your plan allows {limit} {what}.", limit=name, limit_value=limit,
                            resets_at=clock.rfc3339(resets), retry_after=QuotaExceeded.NOT_BY_WAITING)
    try:
        store.update(f"USAGE#{project_id}", sk, {"ttl": resets + 86400}, adds={"n": count},
                     condition="attribute_not_exists(n) OR n <= :room", values={":room": limit - count})
    except store.ConditionFailed:
        raise QuotaExceeded(f"Your plan allows {limit} {what}; this request would exceed it. It resets at "
                            f"{clock.rfc3339(resets)}.", limit=name, limit_value=limit,
                            resets_at=clock.rfc3339(resets), retry_after=resets - clock.now()) from None


# ---------------------------------------------------------------- the counted records

def claim(project_id: str, resource: str) -> dict:
    """The transaction op that takes one `resource` within the project's plan limit."""
    return counters.claim(project_id, resource, _limits(project_id)[resource])


def put_cron_job(record: dict) -> None:
    """Store a new cron job and take one of the plan's cron jobs, together or not at all."""
    project_id = record["project_id"]
    counters.write(project_id, "cron_jobs", claim(project_id, "cron_jobs"),
                  [{"put": record, "condition": "attribute_not_exists(pk)"}],
                  lambda: store.count("gsi1", keys.cron_jobs_of(project_id)))


def delete_cron_job(record: dict, **when) -> None:
    """Delete a cron job and give its place back, once (a job already gone, or not meeting the
    optional condition `when` = condition/names/values, is left as it is and gives nothing back)."""
    _delete_counted(record, "cron_jobs", lambda: store.count("gsi1", keys.cron_jobs_of(record["project_id"])),
                    **when)


def put_queue(queue: dict) -> None:
    """Store a new queue within the plan's limit; store.ConditionFailed if it exists already."""
    project_id = queue["project_id"]
    counters.write(project_id, "queues", claim(project_id, "queues"),
                  [{"put": queue, "condition": "attribute_not_exists(pk)"}],
                  lambda: store.count("gsi1", keys.queues_of(project_id)))


def delete_queue(queue: dict) -> None:
    _delete_counted(queue, "queues", lambda: store.count("gsi1", keys.queues_of(queue["project_id"])))


def put_topic(topic: dict) -> None:
    """Store a new topic within the plan's limit; store.ConditionFailed if it exists already."""
    project_id = topic["project_id"]
    counters.write(project_id, "topics", claim(project_id, "topics"),
                  [{"put": topic, "condition": "attribute_not_exists(pk)"}],
                  lambda: _count_partition(topic["pk"]))


def delete_topic(topic: dict, **when) -> bool:
    """Delete a topic and give its place back; False if it is gone or does not meet `when`."""
    return _delete_counted(topic, "topics", lambda: _count_partition(topic["pk"]), **when)


def _count_partition(pk: str) -> int:
    # Topics have a table partition of their own, and their names (the sort keys) lie in '-'..'z'.
    return store.count_between(pk, "-", "~")


def _delete_counted(record: dict, resource: str, count_now, condition: str | None = None,
                    names: dict | None = None, values: dict | None = None) -> bool:
    """True if this request deleted the record (and gave its place back)."""
    op = {"delete": (record["pk"], record["sk"]),
          "condition": "attribute_exists(pk)" + (f" AND ({condition})" if condition else "")}
    op.update({k: v for k, v in (("names", names), ("values", values)) if v})
    try:
        counters.write(record["project_id"], resource, counters.give_back(record["project_id"], resource),
                       [op], count_now)
        return True
    except store.ConditionFailed:
        return False   # deleted by a concurrent request, which gave the place back (or `condition` failed)
