"""Publishing to queues, one message or a batch, and reading or cancelling messages."""
import logging

from ...aws import keys, store
from ...core import clock, flow_limits, traces, validation
from ...core.errors import Conflict, InfraiError, InvalidInput
from ..delivery import deliveries, delivery_index, delivery_list, keyed, options, payloads
from ..receivers import holding
from ..tenancy import quotas
from ..idempotency import idempotency, request_ids
from . import queues

log = logging.getLogger(__name__)
MAX_DELAY = 365 * 24 * 3600
MAX_BATCH = 100
CANCELLABLE = ("held", "queued", "waiting", "retrying")
MARKER_KEPT = 3600              # s: a batch's "written" marker is only read in its first seconds
BATCH_ENTRY_MARGIN_DAYS = 30   # a batch's list entry outlives its members' longest retention


def _check(body) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput("Each message must be a JSON object: {\"queue\": ..., \"payload\": {...}}.")
    validation.reject_unknown(body, queues.PUBLISH_FIELDS)
    name = validation.string(body, "queue", max_len=80)
    return {"queue": queues.check_name(name), "payload": validation.payload(body),
            "delay": validation.integer(body, "delay_seconds", 0, 0, MAX_DELAY), **options.callbacks(body)}


def _record(project_id: str, queue: dict, fields: dict, message_id=None, meta=None, source=None, fp=None,
            trace=None) -> dict:
    held = not holding.accepts(queue)
    return deliveries.new_record(
        project_id, kind=queues.kind(queue["name"]), url=None, payload=fields["payload"],
        retries=queue["retries"], timeout_seconds=queue["timeout_seconds"], delay_seconds=fields["delay"],
        state="held" if held else "queued", id_prefix="msg", delivery_id=message_id,
        meta_headers=meta, source=source or {"queue": queue["name"]},   # infrai-queue: from source (deliveries.meta_headers)
        retry_schedule=fields.get("retry_schedule") or queue.get("retry_schedule"), callback_url=fields.get("callback_url"),
        failure_callback_url=fields.get("failure_callback_url"), target_url=queue.get("url"),
        ordered=any(queue.get(f) for f in flow_limits.FIELDS), fingerprint=fp, trace=trace)


def publish(project_id: str, body: dict, idem_key: str | None, trace=None) -> dict:
    """`trace`: the core/traces.Trace the request came with, if any (else the message starts its own)."""
    fields = _check(body)

    found, message_id, fp = (keyed.find(project_id, "queue.publish", idem_key, body, "msg",
                                        payloads.fits(fields["payload"])) if idem_key is not None else (None, None, None))
    if found:   # a retried request (delivery/keyed.py): its answer again, nothing made
        return view_accepted(keyed.as_accepted(found))
    queue = holding.find(project_id, fields["queue"])
    made = keyed.already(message_id, fp) if queue is None and message_id else None
    if made:   # a retry whose queue was deleted since: answered, and no queue made again
        return view_accepted(keyed.as_accepted(made))
    try:
        quotas.check_payload(project_id, fields["payload"])
        with quotas.deliveries_taken(project_id) as taken:   # given back if the queue is over the plan
            queue = queue or queues.ensure(project_id, fields["queue"])
    except InfraiError:   # over a plan limit: a retry of a request accepted before is answered all the same
        made = keyed.already(message_id, fp)
        if made:
            return view_accepted(keyed.as_accepted(made))
        raise
    record = _record(project_id, queue, fields, message_id, fp=fp, trace=trace)
    return view_accepted(keyed.as_accepted(keyed.submit(project_id, taken, record, fp)))


def publish_batch(project_id: str, body: dict, idem_key: str | None, trace=None) -> dict:
    """Up to 100 messages in one request; a bad one is reported in its slot, the rest go. All
    share the request's `trace`, if it came with one."""
    validation.reject_unknown(body, ("messages", "idempotency_key"))
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not 1 <= len(msgs) <= MAX_BATCH:
        raise InvalidInput(f"'messages' must be a list of 1 to {MAX_BATCH} messages.", field="messages")

    def run():
        results, checked = [None] * len(msgs), []
        for i, m in enumerate(msgs):
            try:
                fields = _check(m)
                quotas.check_payload(project_id, fields["payload"])
                if isinstance(m, dict) and m.get("idempotency_key") is not None:
                    raise InvalidInput("Per-message idempotency keys are not taken in a batch; give the "
                                       "batch one 'idempotency_key'.", field="idempotency_key")
            except InfraiError as e:
                results[i] = {"error": e.to_dict()["error"]}
                continue
            checked.append((i, fields))
        queues_seen: dict = {}
        if checked:   # refused whole if over the plan (deliveries or queues): nothing is written
            with quotas.deliveries_taken(project_id, len(checked)):
                for _, fields in checked:
                    if fields["queue"] not in queues_seen:
                        queues_seen[fields["queue"]] = queues.ensure(project_id, fields["queue"])
        message_ids, again = request_ids.reserve_again(project_id, "queue.publish-batch", idem_key, "msg",
                                                       len(checked))
        records = [(i, _record(project_id, queues_seen[f["queue"]], f, mid, trace=trace))
                   for (i, f), mid in zip(checked, message_ids)]
        records = [(i, r) for (i, _), r in zip(records, _submit_many([r for _, r in records], again))]
        for i, r in records:
            results[i] = view_accepted(r)
        return {"results": results, "accepted": len(records), "rejected": len(msgs) - len(records)}
    return idempotency.once(project_id, "queue.publish-batch", idem_key, body, run)


def _submit_many(records: list[dict], may_exist: bool) -> list[dict]:
    """Their first attempts in batched sends, then all records in batched writes: handed before
    stored, as deliveries.submit, so a 2xx means both (a failed send refuses the batch whole).
    The messages to one queue share one list entry (delivery_index.batch_entry), written with
    them. A retried request (request_ids) finds the records it made before and writes only the
    rest (and the entries again: the same items)."""
    if not records:
        return records
    entries = _list_entries(records)
    found = store.get_many([(r["pk"], r["sk"]) for r in records]) if may_exist else {}
    rest = [r for r in records if (r["pk"], r["sk"]) not in found]
    if rest:
        marker = keys.batch_written(rest[0]["delivery_id"]) if len(rest) > 1 else None
        deliveries.send_first_attempts(rest, batch=rest[0]["delivery_id"] if marker else None)
        split = [payloads.split(r) for r in rest]
        items = [item for _, item in split if item]
        if items:   # every payload before any record that points to it
            store.put_many(items)
        store.put_many([r for r, _ in split] + entries)
        if marker:
            _mark_written(marker)
        stored = {(r["pk"], r["sk"]): r for r, _ in split}
        return [found.get((r["pk"], r["sk"])) or stored[(r["pk"], r["sk"])] for r in records]
    return [found.get((r["pk"], r["sk"]), r) for r in records]


def _mark_written(marker: tuple[str, str]) -> None:
    """The batch's "written" marker: its first attempts, often received before their records are
    written, wait for this one item instead of reading each record again (deliver/attempts.py).
    A hint, not a promise: if it is never written, they read their records after a second."""
    try:
        store.put({"pk": marker[0], "sk": marker[1], "ttl": int(clock.now()) + MARKER_KEPT})
    except Exception:  # noqa: BLE001 - the batch is stored and on its way; only the hint is lost
        log.warning("could not mark a batch written", exc_info=True)


submit_many = _submit_many   # a topic's publish fans out through it (services/topics/publish.py)


def _list_entries(records: list[dict]) -> list[dict]:
    """One list entry per queue with two or more of the batch's messages, or per topic publish
    (all its subscriptions' deliveries in this chunk), its members marked."""
    by_queue: dict = {}
    for r in records:
        by_queue.setdefault((r.get("source") or {}).get("publish_id") or r["kind"], []).append(r)
    entries = []
    for members in by_queue.values():
        if len(members) < 2:
            continue
        ttl = int(members[0]["created_at"] + 86400 * (max(members[0]["keep"]) + BATCH_ENTRY_MARGIN_DAYS))
        entry = delivery_index.batch_entry(members, ttl)
        for m in members:
            m.pop("ix_all", None)
            m["lst"] = entry["pk"]
        entries.append(entry)
    return entries


def cron_message(job: dict, message_id: str, meta: dict, trace=None) -> dict:
    """The message a run of a queue-targeted cron job publishes (its id derived from the run),
    for cron_runs to write together with the run."""
    queue = queues.ensure(job["project_id"], job["queue"])
    fields = {"queue": job["queue"], "payload": job["payload"], "delay": 0,
              "callback_url": job.get("callback_url"), "failure_callback_url": job.get("failure_callback_url"),
              "retry_schedule": job.get("retry_schedule")}   # the job's own, else its queue's
    return _record(job["project_id"], queue, fields, message_id=message_id, meta=meta,
                   source={"queue": job["queue"], "cron_id": job["cron_id"]}, trace=trace)


def get(project_id: str, message_id: str) -> dict:
    return view(deliveries.get(project_id, message_id, "queue:"))


def list_(project_id: str, name: str, params: dict) -> dict:
    queues.load(project_id, name)
    state = params.get("state")
    if state is not None and state not in deliveries.STATES:
        raise InvalidInput(f"'state' must be one of: {', '.join(deliveries.STATES)}.", field="state")
    items, nxt = delivery_list.page(project_id, {"queue": name, **({"state": state} if state else {})},
                                    limit=validation.query_limit(params), cursor=params.get("cursor"))
    return {"items": [view(i) for i in items], "next_cursor": nxt}


def cancel(project_id: str, message_id: str) -> dict:
    msg = deliveries.get(project_id, message_id, "queue:")
    if msg["state"] not in CANCELLABLE or not queues.cancel_message(msg):
        current = deliveries.get(project_id, message_id, "queue:")["state"]
        raise Conflict(f"Only a message not yet delivered can be cancelled; this one is {current}.",
                       field="message_id", state=current)
    return view(deliveries.get(project_id, message_id, "queue:"))


def view_accepted(record: dict) -> dict:
    return {"message_id": record["delivery_id"], "queue": record["source"]["queue"], "state": record["state"],
            "deliver_at": clock.rfc3339(deliveries.deliver_at(record)), "created_at": clock.rfc3339(record["created_at"]),
            "trace_id": traces.of(record).trace_id}


def view(record: dict) -> dict:
    out = deliveries.view(record)
    out.pop("delivery_id")
    out.pop("url")
    return {"message_id": record["delivery_id"], "queue": record["source"].get("queue"), **out}


def retry(project_id: str, message_id: str, idem_key: str | None) -> dict:
    """Replay a failed message: new attempts appended, same webhook-id."""
    return idempotency.once(project_id, "queue.retry", idem_key, {"message_id": message_id},
                            lambda: view(deliveries.replay(project_id, message_id, "queue:")))
