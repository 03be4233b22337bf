"""Operational events: a project may name one URL (`PUT /v1/scheduling/events {url}`) that is
told, by signed POSTs in the Standard Webhooks shape `{"type", "timestamp", "data"}`, what
happened that nobody asked about synchronously: a delivery failed for good, an endpoint was
held or released by the circuit breaker, a cron run was skipped, a bulk replay finished.

An event is a delivery like any other (kind `event`, id `evt_…`): stored with its due marker,
signed with the project's secret, retried, recorded, listed in GET /deliveries, replayable.
`emit` is the one entry point; every feature that has something to tell calls it. An event
delivery that fails for good emits nothing (no event about an event: no loops), and never
has a callback.

Idempotent when the caller can be: `emit(..., now=t)` with `t` taken from the caller's record
(the time the state changed) derives the event's id from (project, type, data, t), so a caller
that dies after emitting and runs again posts the same event once. Without `now`, each call is
a new event (at least once)."""
import json

from ... import config, sender
from ...aws import keys, store
from ...core import clock, ids, strict_json, validation
from ..delivery import deliveries

KIND = "event"
TYPES = ("delivery.failed", "endpoint.held", "endpoint.released", "cron.run_skipped", "replay.finished")
RETRIES = 5
TIMEOUT_SECONDS = 30
CONFIG_FIELDS = ("url",)


def target(project_id: str) -> str | None:
    """The project's events URL, or None when it has not set one."""
    item = store.get(*keys.events_config(project_id), consistent=False)
    return (item or {}).get("url")


def emit(project_id: str, event_type: str, data: dict, *, now: float | None = None, trace=None) -> None:
    """Post `event_type` with `data` to the project's events URL, as a recorded, retried
    delivery; nothing if the project has none. Raises only if the event could not be stored
    (the caller's own marker then brings it back here); once stored, its sending is the
    reconciler's to finish if this process dies. `trace`: the core/traces.Trace of what it
    tells about, if any (a failed delivery's); else the event starts its own."""
    assert event_type in TYPES, event_type
    url = target(project_id)
    if not url:
        return
    at = clock.now() if now is None else now
    if now is None:
        event_id = ids.new_id("evt", at)
    else:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
        event_id = ids.derived_id("evt", at, project_id, event_type, canonical, repr(float(now)))
    payload = strict_json.dumps({"type": event_type, "timestamp": clock.rfc3339(at), "data": data})
    record = deliveries.new_record(project_id, kind=KIND, url=url, payload=payload, retries=RETRIES,
                                   timeout_seconds=TIMEOUT_SECONDS, delivery_id=event_id,
                                   meta_headers={"infrai-event-type": event_type},
                                   source={"event_type": event_type}, trace=trace)
    deliveries.submit(record)


def is_event(record: dict) -> bool:
    return record.get("kind") == KIND


# -- the project's events endpoint (PUT, GET, DELETE /v1/scheduling/events) --------------------

def get_config(project_id: str) -> dict:
    return view(store.get(*keys.events_config(project_id)))


def put_config(project_id: str, body: dict) -> dict:
    validation.reject_unknown(body, CONFIG_FIELDS)
    url = validation.string(body, "url", max_len=2048)
    sender.check_url(url, allow_private=config.allow_private_targets(), field="url")
    pk, sk = keys.events_config(project_id)
    now = clock.now()
    item = {"pk": pk, "sk": sk, "project_id": project_id, "url": url, "updated_at": now}
    store.put(item)
    return view(item)


def delete_config(project_id: str) -> dict:
    store.delete(*keys.events_config(project_id))
    return view(None)


def view(item: dict | None) -> dict:
    return {"url": (item or {}).get("url"), "event_types": list(TYPES),
            "updated_at": clock.rfc3339((item or {}).get("updated_at"))}
