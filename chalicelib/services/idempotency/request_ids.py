"""Ids that a retried request gets again. A request with an idempotency key may die after it
stored what it made and before the idempotency layer kept its answer; the client's retry then
runs it again. Drawing the new records' ids from here, the retry writes onto the same ids (a
conditional write finds them already there) instead of making a second message or job that
would be delivered too, under another webhook-id. Without a key, ids are simply new.

One small conditional write per keyed create, kept as long as idempotency keys are (24 h)."""
import hashlib

from ...aws import store
from ...core import clock, ids
from .idempotency import KEEP_SECONDS


def reserve(project_id: str, operation: str, key: str | None, prefix: str, count: int = 1) -> list[str]:
    return reserve_again(project_id, operation, key, prefix, count)[0]


def reserve_again(project_id: str, operation: str, key: str | None, prefix: str,
                  count: int = 1) -> tuple[list[str], bool]:
    """The ids, and whether an earlier request with this key drew them (only then may records
    under them exist already: a first request need not look)."""
    if key is None:
        return [ids.new_id(prefix) for _ in range(count)], False
    digest = hashlib.sha256("\x1f".join((project_id, operation, key)).encode()).hexdigest()
    pk, sk, now = f"IDS#{digest}", "IDS", clock.now()
    fresh = [ids.new_id(prefix) for _ in range(count)]
    try:
        store.put({"pk": pk, "sk": sk, "ids": fresh, "ttl": int(now + KEEP_SECONDS)},
                  condition="attribute_not_exists(pk) OR #ttl < :now", names={"#ttl": "ttl"},
                  values={":now": int(now)})
        return fresh, False
    except store.ConditionFailed:
        kept = (store.get(pk, sk) or {}).get("ids") or []
        return (kept + fresh[len(kept):count] if len(kept) < count else kept[:count]), True
