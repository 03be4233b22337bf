"""Runs of cron jobs. Each firing (cron id, scheduled time) becomes exactly one run and one
delivery, both with ids derived from it, written only-if-absent: Scheduler may send the same
firing twice (or both schedules of a day-of-month OR split fire in the same minute), and
the deliver function may see the same message again after a crash; all collapse into one."""
from datetime import datetime

from ..aws import dispatch, keys, store
from ..core import clock, ids, validation
from . import cron, deliveries, idempotency, quotas

KIND = "cron"
TAKEOVER_MARGIN = 60   # seconds past the attempt timeout before a duplicate firing may take over


def fire(cron_id: str, scheduled: str, *, manual=False, project_id=None) -> tuple[str | None, dict | None]:
    """Materialise one firing. Returns (delivery id, the dispatch work for its first attempt);
    work is None when nothing is to be sent now (a queue target that holds it), and both are
    None when the job does not fire (gone, deleting or paused)."""
    record = store.get(*keys.cron_job(cron_id)) if ids.is_id(cron_id, "cron") else None
    if not record or record.get("sync") == "deleting" or (project_id and record["project_id"] != project_id):
        return None, None
    if not record["enabled"] and not manual:
        return None, None
    at = _epoch(scheduled)
    delivery_id = ids.new_id("dlv") if manual else ids.derived_id("dlv", at, cron_id, scheduled)
    now = clock.now()
    run_pk, run_sk = keys.cron_run(cron_id, delivery_id)
    # a scheduled run counts against the plan's deliveries per day like any publish (a trigger was
    # counted by its request); over the limit it is recorded as skipped, visibly, and sends nothing
    over = not manual and not quotas.take_scheduled_run(record["project_id"])
    first = _put_once({"pk": run_pk, "sk": run_sk, "cron_id": cron_id, "project_id": record["project_id"],
                       "delivery_id": delivery_id, "scheduled_at": at, "fired_at": now, "manual": manual,
                       "target": "url" if record.get("url") else "queue",
                       **({"skipped": "quota_exceeded"} if over else {})})
    if over or (not first and (store.get(run_pk, run_sk) or {}).get("skipped")):
        return None, None
    meta = {"infrai-cron-id": cron_id, "infrai-scheduled-time": clock.rfc3339(at)}
    if record.get("queue"):
        from . import messages
        work = messages.publish_from_cron(record, delivery_id, meta)
    else:
        _put_once(deliveries.new_record(
            record["project_id"], kind=KIND, url=record["url"], payload=record["payload"],
            retries=record["retries"], timeout_seconds=record["timeout_seconds"], meta_headers=meta,
            source={"cron_id": cron_id, "scheduled_at": at}, delivery_id=delivery_id))
        work = deliveries.work(delivery_id, 1, now)
    if work and not first and not _orphaned(record, run_pk, run_sk, delivery_id, now):
        work = None   # a duplicate firing while the first is (or was) on its way: send nothing
    return delivery_id, work


def _orphaned(job: dict, run_pk: str, run_sk: str, delivery_id: str, now: float) -> bool:
    """The run record is the claim on a firing's first attempt: a duplicate proceeds only when
    the first attempt was never recorded and whoever fired first has surely died."""
    delivery = store.get(*keys.delivery(delivery_id))
    run = store.get(run_pk, run_sk)
    return bool(delivery and run and delivery["attempt_count"] == 0 and delivery["state"] == "queued"
                and now > run["fired_at"] + job["timeout_seconds"] + TAKEOVER_MARGIN)


def _put_once(item: dict) -> bool:
    try:
        store.put(item, condition="attribute_not_exists(pk)")
        return True
    except store.ConditionFailed:
        return False


def _epoch(scheduled: str) -> float:
    return datetime.fromisoformat(scheduled.replace("Z", "+00:00")).timestamp()


def trigger(project_id: str, cron_id: str, idem_key: str | None) -> dict:
    """Run once now, out of band (also when paused); the schedule is untouched."""
    cron.load(project_id, cron_id)

    def run():
        quotas.take_deliveries(project_id)
        delivery_id, work = fire(cron_id, clock.rfc3339(clock.now()), manual=True, project_id=project_id)
        if work:
            dispatch.enqueue(work)
        return _views([store.get(*keys.cron_run(cron_id, delivery_id))])[0]
    return idempotency.once(project_id, "cron.trigger", idem_key, {"cron_id": cron_id}, run)


def runs(project_id: str, cron_id: str, params: dict) -> dict:
    cron.load(project_id, cron_id)
    limit = validation.query_limit(params, default=20, hi=100)
    items, nxt = store.query_page(None, keys.cron_job(cron_id)[0], limit=limit,
                                  cursor=params.get("cursor"), sk_prefix="RUN#")
    return {"items": _views(items), "next_cursor": nxt}


def _views(runs_: list[dict]) -> list[dict]:
    found = store.get_many([keys.delivery(r["delivery_id"]) for r in runs_]) if runs_ else {}
    out = []
    for r in runs_:
        d = found.get(keys.delivery(r["delivery_id"]), {})
        out.append({"scheduled_at": clock.rfc3339(r["scheduled_at"]), "fired_at": clock.rfc3339(r["fired_at"]),
                    "delivery_id": r["delivery_id"], "manual": r["manual"], "target": r.get("target", "url"),
                    "delivery_state": "skipped" if r.get("skipped") else d.get("state", "pending"),
                    "attempt_count": d.get("attempt_count", 0),
                    **({"skipped_reason": r["skipped"]} if r.get("skipped") else {})})
    return out


def is_firing(message: dict) -> bool:
    return "cron" in message and "at" in message and "d" not in message


