"""Publishing to a topic: one delivery per matching subscription, each its subscription's queue
message (subscriptions.py) with its own id, hence its own webhook-id. The body sent is the
payload as published; `infrai-topic`, `infrai-event-type` and `infrai-subscription` headers say
what it is.

Made once, whatever dies when: the publish's id comes from request_ids (a retried request with
the same Idempotency-Key gets it again) and each delivery's id is derived from the publish's id
and the subscription's, so a retry after a crash writes onto the same ids (the batch path,
queues/messages.submit_many, finds those already stored and writes only the rest), never a
second delivery. Written in chunks of CHUNK (the batch path's size)."""
from ...aws import keys, store
from ...core import flow_limits, ids, validation
from ...core.errors import InvalidInput
from ..delivery import deliveries, options, payloads
from ..queues import messages
from ..receivers import holding
from ..tenancy import quotas
from ..idempotency import idempotency, request_ids
from . import event_types, subscriptions, topics

FIELDS = ("event_type", "payload", "delay_seconds", "idempotency_key")
CHUNK = messages.MAX_BATCH


def publish(project_id: str, topic_name: str, body: dict, idem_key: str | None, trace=None) -> dict:
    topics.load(project_id, topic_name)
    validation.reject_unknown(body, FIELDS)
    if body.get("event_type") is None:
        raise InvalidInput("'event_type' is required, e.g. 'order.paid' (subscriptions choose by it).",
                           field="event_type")
    event_type = event_types.check_name(body["event_type"], "event_type")
    payload_text = validation.payload(body)
    delay = validation.integer(body, "delay_seconds", 0, 0, options.MAX_DELAY)
    event_types.check_payload(project_id, event_type, body["payload"])
    quotas.check_payload(project_id, payload_text)

    def run():
        matched = matching(project_id, topic_name, event_type, body["payload"])
        (publish_id,), again = request_ids.reserve_again(project_id, "topic.publish", idem_key, "msg")
        if matched:
            with quotas.deliveries_taken(project_id, len(matched)):
                stored = fan_out(project_id, matched, event_type, payload_text, publish_id, again,
                                 delay=delay, trace=trace)
        else:
            stored = []
        return {"message_id": publish_id, "topic": topic_name, "event_type": event_type, "matched": len(stored),
                "deliveries": [{"subscription_id": r["source"]["subscription_id"], "delivery_id": r["delivery_id"],
                                "state": r["state"]} for r in stored]}
    return idempotency.once(project_id, "topic.publish", idem_key, {**body, "topic": topic_name}, run)


def matching(project_id: str, topic_name: str, event_type: str, payload: dict) -> list[dict]:
    """The topic's subscriptions a publish of `event_type` with `payload` goes to, now."""
    return [s for s in subscriptions.all_of(project_id, topic_name) if subscriptions.wants(s, event_type, payload)]


def fan_out(project_id: str, subs: list[dict], event_type: str, payload_text: str, publish_id: str, again: bool,
            *, delay: int = 0, trace=None, meta: dict | None = None) -> list[dict]:
    """One delivery per subscription in `subs`, its id derived from `publish_id` and the
    subscription's, written in chunks; `again`: some may be stored already (a retry), those are
    kept, not made twice. Also a cron job's run to a topic (cron/cron_runs.py), whose `publish_id`
    is the run's id and `meta` its infrai-cron-* headers. Returns the deliveries as stored."""
    at = ids.time_of(publish_id)
    records = [_record(project_id, s, event_type, payload_text, delay, publish_id,
                       ids.derived_id("msg", at, publish_id, s["subscription_id"]), trace, meta) for s in subs]
    records, shared = payloads.shared(records)   # the payload kept once for all of them
    if shared:
        store.put(shared)   # before any record that points to it
    stored = []
    for i in range(0, len(records), CHUNK):
        stored += messages.submit_many(records[i:i + CHUNK], again)
    return stored


def _record(project_id: str, sub: dict, event_type: str, payload_text: str, delay: int, publish_id: str,
            delivery_id: str, trace, meta: dict | None = None) -> dict:
    """As a queue message of the subscription's queue (queues/messages._record), with its headers."""
    held = not holding.accepts(sub)
    return deliveries.new_record(
        project_id, kind=keys.queue_kind(sub["name"]), url=None, payload=payload_text, retries=sub["retries"],
        timeout_seconds=sub["timeout_seconds"], delay_seconds=delay, headers=sub.get("headers") or {},
        meta_headers=meta,
        state="held" if held else "queued", id_prefix="msg", delivery_id=delivery_id,
        source={"queue": sub["name"], "topic": sub["topic"], "subscription_id": sub["subscription_id"],
                "event_type": event_type, "publish_id": publish_id},
        retry_schedule=sub.get("retry_schedule"), target_url=sub.get("url"),
        ordered=any(sub.get(f) for f in flow_limits.FIELDS), trace=trace)
