"""Runs of cron jobs. Each firing (cron id, scheduled time) becomes exactly one delivery and one
run, both with ids derived from it, each written only if absent: Scheduler may send the same
firing twice (or both schedules of a day-of-month OR split fire in the same minute), and the
deliver function may see the same message again after a crash; all collapse into one. The
delivery is written first and carries its due marker (core/due.py), so a firing that dies after
it is still sent, by the reconciler, and the run is written by whichever copy comes next (its
own message comes back until it succeeds). Two plain conditional puts, not a transaction: half
the write units, and moto copies a whole table for every transaction.

A job targeting a topic publishes instead: one delivery per subscription matching then, each id
derived from the run's (topics/publish.fan_out), written before the run as the one delivery is;
a copy of the firing finds them stored and makes none twice. The run records how many matched
(0 is a run too, not an error); its `delivery_id` is the id the deliveries derive from."""
import json
import logging
from datetime import datetime, timezone

from ...aws import dispatch, keys, store
from ...core import clock, ids, validation
from . import cron
from ..delivery import deliveries, payloads
from ..notices import events
from ..queues import messages
from ..tenancy import quotas, retention
from ..idempotency import idempotency, request_ids
from ..topics import publish

log = logging.getLogger(__name__)

KIND = "cron"
RUN_MARGIN_DAYS = 30


def fire(cron_id: str, scheduled: str, *, manual=False, project_id=None, message_id=None,
         delivery_id=None, requested=False, hand=False, trace=None) -> tuple[str | None, dict | None]:
    """Materialise one firing. Returns (delivery id, the dispatch work for its first attempt);
    work is None when nothing is to be sent now (a queue target that holds it, a duplicate, or
    work already handed), and both are None when the job does not fire (gone, deleting or
    paused, or skipped over the plan's limit). `message_id`: the SQS message carrying the
    firing (the deliver function, which attempts the work itself under that message's lease),
    so that its own redelivery may finish what it started. `hand`: no message is leased (a
    trigger, a catch-up, a backfill): the work goes to SQS before the delivery is written
    (core/due.HANDOFF_GRACE). `requested`: a scheduled time asked for by the user (a
    backfill), fired also while the job is paused. `trace`: a trigger's incoming core/traces.Trace;
    without one the run starts its own trace (derived from its delivery id: one per run)."""
    record = store.get(*keys.cron_job(cron_id)) if ids.is_id(cron_id, "cron") else None
    if not manual and (not record or record.get("sync") == "deleting"):
        _silence(cron_id, record)
        return None, None
    if not record or record.get("sync") == "deleting" or (project_id and record["project_id"] != project_id):
        return None, None
    if not record["enabled"] and not (manual or requested):
        return None, None
    at = epoch(scheduled)
    delivery_id = delivery_id or (ids.new_id("dlv") if manual else scheduled_run_id(cron_id, at, scheduled))
    now = clock.now()
    run_pk, run_sk = keys.cron_run(cron_id, delivery_id)
    run = {"pk": run_pk, "sk": run_sk, "cron_id": cron_id, "project_id": record["project_id"],
           "delivery_id": delivery_id, "scheduled_at": at, "fired_at": now, "manual": manual,
           "target": _target(record), **({"mid": message_id} if message_id else {}),
           # kept a month past the longest its delivery may be (services/tenancy/retention.py)
           "ttl": int(now + 86400 * (max(retention.stamp(record["project_id"])) + RUN_MARGIN_DAYS))}
    # a scheduled run counts against the plan's deliveries per day like any publish (a trigger was
    # counted by its request); over the limit it is recorded as skipped, visibly, and sends nothing
    subs = _subscribers(record)
    if not manual and not quotas.take_scheduled_run(record["project_id"], 1 if subs is None else len(subs)):
        # told before the run is written, with the scheduled time as the event's time, so that
        # a firing redone after a crash tells it once (events derive the id from it)
        events.emit(record["project_id"], "cron.run_skipped",
                    {"cron_id": cron_id, "reason": "quota_exceeded", "scheduled_at": clock.rfc3339(at),
                     "count": 1, "delivery_id": delivery_id}, now=at)
        _put_once({**run, "skipped": "quota_exceeded"})
        return None, None
    meta = {"infrai-cron-id": cron_id, "infrai-scheduled-time": clock.rfc3339(at)}
    if subs is not None:
        stored = publish.fan_out(record["project_id"], subs, record["event_type"], record["payload"], delivery_id,
                                 True, trace=trace, meta=meta)
        _put_once({**run, "topic": record["topic"], "matched": len(stored)})
        return delivery_id, None   # each delivery's first attempt is handed as it is written
    if record.get("queue"):
        delivery = messages.cron_message(record, delivery_id, meta, trace=trace)
    else:
        delivery = deliveries.new_record(
            record["project_id"], kind=KIND, url=record["url"], payload=record["payload"],
            retries=record["retries"], timeout_seconds=record["timeout_seconds"], meta_headers=meta,
            source={"cron_id": cron_id, "scheduled_at": at}, delivery_id=delivery_id,
            flow_key=record.get("flow_key"),
            retry_schedule=record.get("retry_schedule"), callback_url=record.get("callback_url"),
            failure_callback_url=record.get("failure_callback_url"),
            breaker={k: record.get(k) for k in ("circuit_breaker", "breaker_off")}, trace=trace,
            auth=record.get("auth"))
    if hand and delivery["enqueued"]:
        dispatch.enqueue(deliveries.first_work(delivery))
    delivery, payload_item = payloads.split(delivery)
    if payload_item:
        store.put(payload_item)
    made = _put_once(delivery)
    run_made = _put_once(run)
    if made:
        return delivery_id, (deliveries.work_of(delivery, 1, now) if delivery["enqueued"] and not hand else None)
    return delivery_id, _redelivered(run if run_made else store.get(run_pk, run_sk) or {}, delivery, message_id)


def _target(record: dict) -> str:
    return next(t for t in ("topic", "queue", "url") if record.get(t))


def _subscribers(record: dict) -> list[dict] | None:
    """A topic job's run goes to these subscriptions (matching now); None: not a topic job."""
    if not record.get("topic"):
        return None
    return publish.matching(record["project_id"], record["topic"], record["event_type"], json.loads(record["payload"]))


def _redelivered(run: dict, delivery: dict, message_id: str | None) -> dict | None:
    """The firing's delivery is on record already. The copy whose message id the run holds (its
    own SQS message, back after a crash) sends the first attempt again if it is still unmade (a
    duplicate at worst, same webhook-id); any other copy sends nothing: the delivery's marker
    already owes its attempt."""
    if not message_id or run.get("mid") != message_id or run.get("skipped"):
        return None
    d = store.get(delivery["pk"], delivery["sk"])
    if d and d["state"] == "queued" and d["attempt_count"] == 0 and d.get("enqueued"):
        return deliveries.work_of(d, 1)
    return None


def _silence(cron_id: str, record: dict | None) -> None:
    """A schedule fired for a job that is gone (a delete or a change that died half-way left it):
    it is deleted now, so it never fires again."""
    if ids.is_id(cron_id, "cron"):
        log.warning("schedule of %s fired but the job is %s; deleting its schedules", cron_id,
                    "being deleted" if record else "gone")
        cron.drop_schedules(cron_id)


def _put_once(item: dict) -> bool:
    try:
        store.put(item, condition="attribute_not_exists(pk)")
        return True
    except store.ConditionFailed:
        return False


def scheduled_run_id(cron_id: str, at: float, scheduled: str | None = None) -> str:
    """The delivery (and run) id of the firing of `cron_id` scheduled at `at`: the same for
    Scheduler's firing, a catch-up and a backfill of that time, so they never make two runs.
    Derived from the time as Scheduler writes it (`2026-11-28T09:00:00Z`) whatever the spelling
    that came in; a time with a fraction of a second (only tests send one) keeps its own."""
    stamp = datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ids.derived_id("dlv", at, cron_id, stamp if at == int(at) or scheduled is None else scheduled)


def epoch(scheduled: str) -> float:
    return datetime.fromisoformat(scheduled.replace("Z", "+00:00")).timestamp()


def trigger(project_id: str, cron_id: str, idem_key: str | None, trace=None) -> dict:
    """Run once now, out of band (also when paused); the schedule is untouched. Its delivery
    joins the request's `trace` if it came with one."""
    record = cron.load(project_id, cron_id)

    def run():
        subs = _subscribers(record)   # a run to a topic: one delivery per subscription it reaches
        quotas.take_deliveries(project_id, 1 if subs is None else len(subs))
        [reserved] = request_ids.reserve(project_id, "cron.trigger", idem_key, "dlv")
        delivery_id, _ = fire(cron_id, clock.rfc3339(clock.now()), manual=True, project_id=project_id,
                              delivery_id=reserved, hand=True, trace=trace)
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
    now = clock.now()
    for r in runs_:
        d = found.get(keys.delivery(r["delivery_id"]), {})
        if deliveries.expired(d, now) or (not d and r["fired_at"] < now - 3600):
            d = {"state": "expired"}   # past its retention (a delivery is written within moments of its run)
        if r.get("target") == "topic":   # one delivery per subscription: listed with ?topic=
            d = {"state": "published"}
        out.append({"scheduled_at": clock.rfc3339(r["scheduled_at"]), "fired_at": clock.rfc3339(r["fired_at"]),
                    "delivery_id": r["delivery_id"], "manual": r["manual"], "target": r.get("target", "url"),
                    "delivery_state": "skipped" if r.get("skipped") else d.get("state", "pending"),
                    "attempt_count": d.get("attempt_count", 0),
                    **({"skipped_reason": r["skipped"]} if r.get("skipped") else {}),
                    **({"topic": r["topic"], "matched": int(r["matched"])} if "matched" in r else {})})
    return out
