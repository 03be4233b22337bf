"""Idempotency for the hot creates (a webhook send, a publish) without records of its own: the
new delivery's id is derived from the key and the 24 h window it falls in, so a retried request
finds its delivery with one read, and a twin racing it loses the record's conditional put
(deliveries.submit) and is answered with it. Every other POST keeps its answer through
services/idempotency/idempotency.py."""
import hashlib
import json

from ...aws import keys, store
from ...core import clock, ids
from ...core.errors import IdempotencyMismatch

KEY_WINDOW = 24 * 3600     # a key's delivery is found again for this long


def find(project_id: str, operation: str, key: str, body: dict, prefix: str) -> tuple[dict | None, str, str]:
    """Returns (the delivery an earlier request with this key made in the last
    24 h, or None; the id a new one takes; the body's fingerprint). The same key with another
    body is a 422, as everywhere."""
    now = clock.now()
    window = int(now // KEY_WINDOW)
    this, last = (ids.derived_id(prefix, w * KEY_WINDOW, project_id, operation, key, str(w)) for w in (window, window - 1))
    # eventually consistent (half the price): a retry quick enough to miss the first request's
    # write loses the conditional put to it instead, and is answered the same
    found = store.get_many([keys.delivery(this), keys.delivery(last)], consistent=False)
    fp = _fingerprint(body)
    for delivery_id in (this, last):
        record = found.get(keys.delivery(delivery_id))
        if record and record["created_at"] > now - KEY_WINDOW:
            return same_request(record, fp), this, fp
    return None, this, fp


def same_request(record: dict, fp: str | None) -> dict:
    """The delivery a keyed request made, if this request is the same one (else 422)."""
    if fp is not None and record.get("fp") != fp:
        raise IdempotencyMismatch("This idempotency_key was already used with a different request body in the "
                                  "last 24 h; use a new key for a new request.", field="idempotency_key")
    return record


def _fingerprint(body: dict) -> str:
    canonical = json.dumps({k: v for k, v in body.items() if k != "idempotency_key"}, sort_keys=True,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def as_accepted(record: dict) -> dict:
    """A record as the request that made it saw it: what a retried request is answered again."""
    return {**record, "state": record.get("s0", "queued"), "updated_at": record["created_at"],
            "next_attempt_at": record.get("deliver_at") or record["created_at"] if record.get("s0", "queued") == "queued" else None,
            "attempt_count": 0, "attempts": [], "deferred": None, "repair_errors": None}
