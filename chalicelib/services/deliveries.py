"""Deliveries: the one thing every feature ends in (a signed POST, retried, recorded).
Creating, reading, listing and replaying them; the attempts themselves are in `attempts.py`."""
import logging

from ..aws import dispatch, keys, store
from ..core import clock, ids
from ..core.errors import Conflict, NotFound
from . import delivery_index
from .errors import ServiceUnavailable

log = logging.getLogger(__name__)

STATES = ("queued", "held", "retrying", "succeeded", "failed", "cancelled")
TERMINAL = ("succeeded", "failed", "cancelled")
MAX_KEPT_ATTEMPTS = 50   # the newest attempts are kept in full; attempt_count says how many there were


def work(delivery_id: str, attempt: int, not_before: float) -> dict:
    """The SQS message body: small, so the payload is read from the record, never from the queue."""
    return {"d": delivery_id, "n": attempt, "at": not_before}


def new_record(project_id: str, *, kind: str, url: str, payload: str, retries: int,
               timeout_seconds: int, delay_seconds: float = 0, headers=None, meta_headers=None,
               source=None, state="queued", id_prefix="dlv", delivery_id=None) -> dict:
    now = clock.now()
    delivery_id = delivery_id or ids.new_id(id_prefix, now)
    pk, sk = keys.delivery(delivery_id)
    return delivery_index.with_fields({
        "pk": pk, "sk": sk, "delivery_id": delivery_id, "project_id": project_id, "kind": kind,
        "gsi1pk": keys.deliveries_of(project_id, kind), "gsi1sk": delivery_id,
        "gsi2pk": keys.deliveries_in_state(project_id, kind, state), "gsi2sk": delivery_id,
        "url": url, "payload": payload, "headers": headers or {}, "meta_headers": meta_headers or {},
        "source": source or {}, "retries": retries, "timeout_seconds": timeout_seconds,
        "state": state, "created_at": now, "updated_at": now, "deliver_at": now + delay_seconds,
        "next_attempt_at": now + delay_seconds if state == "queued" else None,
        "attempt_count": 0, "attempt_budget": retries + 1, "enqueued": 1 if state == "queued" else 0,
        "attempts": [],
    })


def submit(record: dict) -> dict:
    """Store the record, then queue its first attempt. If the queue refuses, the record is
    removed again: the caller gets an error, never a 2xx for a delivery nobody will make."""
    store.put(record, condition="attribute_not_exists(pk)")
    if record["state"] != "queued":
        return record
    try:
        dispatch.enqueue(work(record["delivery_id"], 1, record["deliver_at"]),
                         record["deliver_at"] - clock.now())
    except Exception as e:  # noqa: BLE001 - any failure to enqueue must undo the record
        log.exception("enqueue failed, removing %s", record["delivery_id"])
        store.delete(record["pk"], record["sk"])
        raise ServiceUnavailable("The delivery could not be queued; nothing was stored. "
                                 "Retry the request (with the same idempotency_key).") from e
    return record


def get(project_id: str, delivery_id: str, kind: str | None = None) -> dict:
    """A delivery of this project; another project's, or one of another kind, is simply not found."""
    record = None
    if isinstance(delivery_id, str) and len(delivery_id) < 64:
        record = store.get(*keys.delivery(delivery_id))
    if not record or record["project_id"] != project_id or (kind and not record["kind"].startswith(kind)):
        raise NotFound(f"No delivery '{str(delivery_id)[:64]}' in this project; check the id "
                       "returned when it was sent.", field="delivery_id")
    return record


def list_page(project_id: str, kind: str, *, state: str | None, limit: int, cursor: str | None):
    if state:
        items, nxt = store.query_page("gsi2", keys.deliveries_in_state(project_id, kind, state),
                                      limit=limit, cursor=cursor)
    else:
        items, nxt = store.query_page("gsi1", keys.deliveries_of(project_id, kind),
                                      limit=limit, cursor=cursor)
    return items, nxt


def replay(project_id: str, delivery_id: str, kind: str | None = None) -> dict:
    """A failed delivery gets a fresh set of attempts, appended to the old, same webhook-id."""
    record = get(project_id, delivery_id, kind)
    if record["state"] != "failed":
        raise Conflict(f"Only a failed delivery can be retried; this one is {record['state']}.",
                       field="delivery_id", state=record["state"])
    now = clock.now()
    n = record["attempt_count"] + 1
    try:
        record = store.update(record["pk"], record["sk"], {
            "state": "queued", "updated_at": now, "next_attempt_at": now,
            "attempt_budget": record["attempt_count"] + record["retries"] + 1, "enqueued": n,
            "gsi2pk": keys.deliveries_in_state(project_id, record["kind"], "queued"),
            **delivery_index.fields({**record, "state": "queued"})},
            removes=("dead_lettered",), condition="#st = :failed",
            names={"#st": "state"}, values={":failed": "failed"})
    except store.ConditionFailed:
        raise Conflict("The delivery changed while being retried; read it again.", field="delivery_id")
    try:
        dispatch.enqueue(work(delivery_id, n, now))
    except Exception as e:  # noqa: BLE001 - put the record back as it was
        store.update(record["pk"], record["sk"], {
            "state": "failed", "gsi2pk": keys.deliveries_in_state(project_id, record["kind"], "failed"),
            **delivery_index.fields({**record, "state": "failed"})})
        raise ServiceUnavailable("The retry could not be queued; the delivery is still failed. "
                                 "Try again.") from e
    return record


def view(record: dict) -> dict:
    """The public shape of a delivery record."""
    out = {
        "delivery_id": record["delivery_id"], "webhook_id": record["delivery_id"],
        "state": record["state"], "url": record.get("url"),
        "created_at": clock.rfc3339(record["created_at"]),
        "updated_at": clock.rfc3339(record["updated_at"]),
        "deliver_at": clock.rfc3339(record.get("deliver_at")),
        "next_attempt_at": clock.rfc3339(record.get("next_attempt_at"))
        if record["state"] in ("queued", "retrying") else None,
        "retries": record["retries"], "timeout_seconds": record["timeout_seconds"],
        "attempt_count": record["attempt_count"],
        "attempts": [_attempt_view(a) for a in record.get("attempts", [])],
    }
    return out


def _attempt_view(a: dict) -> dict:
    return {"attempt": a["n"], "at": clock.rfc3339(a["at"]), "status_code": a.get("status"),
            "duration_ms": a["ms"], "error": a.get("error"), "response_excerpt": a.get("excerpt", "")}
