"""What a delivery that has ended owes others: its callback (`callback_url` when it succeeded,
`failure_callback_url` when it failed for good), the `delivery.failed` operational event, and
the dead-letter notice of a failed one.

Crash-safe by the due marker (core/due.py): the write that makes a delivery succeeded (with a
callback to make) or failed carries a CHECK marker, in the same write. `finish` then makes each
notice and only at the end drops the marker. If the process dies anywhere in between, the
redelivered work message or the reconciler calls `finish` again, and nothing is doubled: the
callback's and the event's ids are derived from the delivery, its attempt count and the time
it ended, and each is written only if absent (a second dead-letter notice is harmless).

No loops: a callback never has a callback, and an event delivery emits no event when it fails.
Callbacks and events do not count against the plan's deliveries per day: they report on
deliveries already counted."""
from ...aws import store
from ...core import clock, due, ids, strict_json, traces
from ..delivery import deliveries, delivery_index
from . import events

CALLBACK_KIND = "callback"
CALLBACK_TIMEOUT = 30
QUIET_KINDS = (CALLBACK_KIND, events.KIND)   # kinds that never call back


def callback_url_for(record: dict) -> str | None:
    """The URL to call back about this delivery's end, if any."""
    if record.get("kind") in QUIET_KINDS:
        return None
    if record["state"] == "succeeded":
        return record.get("callback_url")
    if record["state"] == "failed":
        return record.get("failure_callback_url")
    return None


def owes_callback_on_success(record: dict) -> bool:
    """Whether a success must be written with a marker (a callback is owed)."""
    return bool(record.get("callback_url")) and record.get("kind") not in QUIET_KINDS


def owed(record: dict) -> bool:
    """Whether this ended delivery still owes its notices."""
    if record["state"] == "failed":
        return not record.get("dead_lettered")
    if record["state"] == "succeeded":
        return bool(callback_url_for(record)) and record.get("notified") != record["attempt_count"]
    return False


def finish(record: dict) -> None:
    """Make every notice the delivery owes, then drop its marker. Safe to repeat."""
    url = callback_url_for(record)
    if url:
        deliveries.submit(callback_record(record, url))
    if record["state"] == "failed":
        if not events.is_event(record):
            events.emit(record["project_id"], "delivery.failed", outcome_data(record), now=record["updated_at"],
                        trace=traces.child_of_attempt(record, record["attempt_count"]))
        deliveries.dead_letter(record)   # the DLQ notice, then dead_lettered and the marker gone
        return
    try:
        store.update(record["pk"], record["sk"], {"notified": record["attempt_count"], **due.unmark()},
                     condition="#st = :st AND attempt_count = :n", names={"#st": "state"},
                     values={":st": record["state"], ":n": record["attempt_count"]})
    except store.ConditionFailed:
        pass


def outcome_data(record: dict) -> dict:
    """How a delivery ended, with its ids and its last attempt: the `data` of its callback and
    of a `delivery.failed` event."""
    source = record.get("source") or {}
    attempts = record.get("attempts") or []
    kind = delivery_index.kind_of(record)
    out = {"delivery_id": record["delivery_id"], "webhook_id": record["delivery_id"], "kind": kind,
           "state": record["state"], "url": record.get("url") or record.get("target_url"),
           "queue": source.get("queue"), "cron_id": source.get("cron_id"),
           "attempt_count": record["attempt_count"], "retries": record["retries"],
           "created_at": clock.rfc3339(record["created_at"]), "ended_at": clock.rfc3339(record["updated_at"]),
           "last_attempt": deliveries.attempt_view(attempts[-1], record["delivery_id"]) if attempts else None,
           "trace_id": traces.of(record).trace_id}
    if kind == "queue":
        out["message_id"] = record["delivery_id"]
    if source.get("scheduled_at") is not None:
        out["scheduled_at"] = clock.rfc3339(source["scheduled_at"])
    if source.get("event_type"):
        out["event_type"] = source["event_type"]
    return out


def callback_record(record: dict, url: str) -> dict:
    """The callback delivery about `record`'s end: its id derived from the delivery and the
    attempt it ended on, so a repeated `finish` finds it made."""
    ended = record["updated_at"]
    callback_id = ids.derived_id("dlv", ended, record["delivery_id"], CALLBACK_KIND, str(record["attempt_count"]))
    body = {"type": f"delivery.{record['state']}", "timestamp": clock.rfc3339(ended), "data": outcome_data(record)}
    return deliveries.new_record(
        record["project_id"], kind=CALLBACK_KIND, url=url, payload=strict_json.dumps(body),
        retries=record["retries"], timeout_seconds=CALLBACK_TIMEOUT, delivery_id=callback_id,
        retry_schedule=record.get("retry_schedule"),
        meta_headers={"infrai-callback-for": record["delivery_id"]},
        source={"delivery_id": record["delivery_id"], "outcome": record["state"]},
        trace=traces.child_of_attempt(record, record["attempt_count"]))   # in its trace, under the last attempt
