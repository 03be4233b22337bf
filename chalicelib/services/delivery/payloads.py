"""Where a delivery's payload is kept. Every write of a delivery record is billed per KB of the
whole record, and a record is written at least twice (made, attempted), so the payload is kept
where it costs least: as sent when small, zlib-compressed when that is smaller, and in an item
of its own, written once, when it is still large (docs/costs.md)."""
import zlib

from ...aws import keys, store
from ..tenancy import retention

COMPRESS_OVER = 600        # bytes of payload over which the record keeps it compressed
INLINE_MAX = 600           # bytes of payload (as kept) over which it has its own item (split)
MARGIN_DAYS = 30           # a payload item outlives its record's longest retention by this


def stored(payload: str) -> dict:
    """The payload as the record keeps it: as sent, or zlib-compressed (`pz`) when that is
    smaller, for a payload over COMPRESS_OVER bytes. DynamoDB bills each write of the record
    per KB of the whole item, and the record is written at least twice (made, attempted): a
    10 KB JSON event compresses to 2-3 KB (docs/costs.md)."""
    raw = payload.encode()
    if len(raw) > COMPRESS_OVER:
        packed = zlib.compress(raw, 6)
        if len(packed) < len(raw) * 0.9:
            return {"pz": packed}
    return {"payload": payload}


def text(record: dict) -> str:
    """The payload as it was sent, however the record keeps it (in itself, compressed or not,
    or in its payload item: split)."""
    held = record
    if record.get("pref"):
        held = store.get(*keys.payload(record["delivery_id"]), consistent=False) or {}
        if not held:
            raise LookupError("the payload item is gone (past its retention)")
    packed = held.get("pz")
    if packed is not None:
        return zlib.decompress(bytes(getattr(packed, "value", packed))).decode()
    return held["payload"]


def split(record: dict) -> tuple[dict, dict | None]:
    """A new record, and its payload's own item when the payload (as kept) is over INLINE_MAX:
    the payload is then written once, and the record, written at least twice, stays under 1 KB,
    so each KB of payload costs one write unit, compressible or not (docs/costs.md). The item
    is written before the record (a record never lacks its payload; an item whose record never
    came expires). Writers of new records call this; a record stored whole works as well."""
    kept = record.get("pz") if record.get("pz") is not None else record.get("payload")
    size = len(bytes(getattr(kept, "value", kept))) if not isinstance(kept, str) else len(kept.encode())
    if size <= INLINE_MAX:
        return record, None
    pk, sk = keys.payload(record["delivery_id"])
    item = {"pk": pk, "sk": sk, "project_id": record["project_id"],
            **({"pz": record["pz"]} if record.get("pz") is not None else {"payload": record["payload"]}),
            "ttl": expiry(record, record["created_at"])}
    slim = {k: v for k, v in record.items() if k not in ("pz", "payload")}
    return {**slim, "pref": 1}, item


def expiry(record: dict, start: float) -> int:
    """A payload item outlives the longest its record can be kept from `start` (a month more)."""
    return int(start + 86400 * (max(record.get("keep") or retention.DEFAULTS.values()) + MARGIN_DAYS))
