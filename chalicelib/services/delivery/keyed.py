"""Idempotency for the hot creates (a webhook send, a publish) without records of its own: the
new delivery's id is derived from the key and the 48 h window it falls in, and the record's
conditional put is the lookup: a retried request (or a twin racing it) loses the put and is
answered with the delivery already there (`submit`). Reads are needed only where the put cannot
see: the window before, in a window's first 24 h (an earlier request of the last 24 h may sit
there; each key's windows start at a time of its own), and a payload kept in its own item
(written before the record, so it must not be written over a delivery already made). So a key
is remembered for at least 24 h and at most 48 h. Every other POST keeps its answer through
services/idempotency/idempotency.py."""
import hashlib
import json

from ...aws import keys, store
from ...core import clock, ids
from ...core.errors import IdempotencyMismatch, ServiceUnavailable
from ..tenancy import quotas
from . import deliveries

KEY_WINDOW = 48 * 3600     # the window a derived id is made in
KEY_KEPT = 24 * 3600       # a key's delivery is found again for at least this long


def find(project_id: str, operation: str, key: str, body: dict, prefix: str,
         inline: bool = False) -> tuple[dict | None, str, str]:
    """Returns (the delivery an earlier request with this key made, where only a read can find
    it, or None; the id a new one takes; the body's fingerprint). `inline`: the payload is kept
    in the record (payloads.fits), so the put alone finds a delivery of this window. The same
    key with another body is a 422, as everywhere."""
    now = clock.now()
    # each key's windows start at a time of its own, so a day's keys read the window before
    # half the time on average, rather than all of them on one day and none on the next
    shift = int.from_bytes(hashlib.sha256(f"{project_id}\x1f{key}".encode()).digest()[:4], "big") % KEY_WINDOW
    window = int((now + shift) // KEY_WINDOW)
    start = window * KEY_WINDOW - shift
    this, last = (ids.derived_id(prefix, w * KEY_WINDOW - shift, project_id, operation, key, str(w))
                  for w in (window, window - 1))
    wanted = ([] if inline else [this]) + ([last] if now - start < KEY_KEPT else [])
    # eventually consistent (half the price) when the put decides: a retry quick enough to miss
    # the first request's write loses the conditional put to it instead, and is answered the
    # same; strongly when the payload has its own item, written before the record
    found = store.get_many([keys.delivery(d) for d in wanted], consistent=not inline) if wanted else {}
    fp = _fingerprint(body)
    for delivery_id in wanted:
        record = found.get(keys.delivery(delivery_id))
        if record and (delivery_id == this or record["created_at"] > now - KEY_KEPT) and not deliveries.expired(record, now):
            return same_request(record, fp), this, fp
    return None, this, fp


def already(delivery_id: str | None, fp: str | None) -> dict | None:
    """The delivery a derived id names, read strongly consistent, if it is there and not past its
    retention (the same body, else a 422): for a keyed request about to be refused by a plan
    limit, or to make a queue, which a retry of an accepted request must not be."""
    record = store.get(*keys.delivery(delivery_id)) if delivery_id else None
    return same_request(record, fp) if record and not deliveries.expired(record) else None


def submit(project_id: str, taken: list, record: dict, fp: str | None) -> dict:
    """deliveries.submit, and what it answers; the count `taken` is given back if nothing was made."""
    try:
        stored = deliveries.submit(record)
    except ServiceUnavailable:   # its hand-off failed: nothing was stored
        quotas.give_back(project_id, taken)
        raise
    # the delivery it made, or the one its id already named (a retried request, a twin): then its
    # count is given back, nothing was made, and another body is a 422
    if stored.get("hand") != record["hand"] or stored["created_at"] != record["created_at"]:
        quotas.give_back(project_id, taken)
    return same_request(stored, fp)


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
