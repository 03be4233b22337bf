"""Where a delivery's payload is kept. Every write of a delivery record is billed per KB of the
whole record, and a record is written at least twice (made, attempted), so the payload is kept
where it costs least: as sent when small, zlib-compressed when that is smaller, and in an item
of its own, written once, when it is still large (docs/costs.md)."""
import functools
import zlib

from ...aws import keys, store
from ..tenancy import retention

COMPRESS_OVER = 600        # bytes of payload over which the record keeps it compressed
INLINE_MAX = 600           # bytes of payload (as kept) over which it has its own item (split)
MARGIN_DAYS = 30           # a payload item outlives its record's longest retention by this
SHARE_OVER = 100           # bytes of payload (as kept) over which a publish's deliveries share one item


@functools.lru_cache(maxsize=8)
def stored(payload: str) -> dict:
    """The payload as the record keeps it: as sent, or zlib-compressed (`pz`) when that is
    smaller, for a payload over COMPRESS_OVER bytes. DynamoDB bills each write of the record
    per KB of the whole item, and the record is written at least twice (made, attempted): a
    10 KB JSON event compresses to 2-3 KB (docs/costs.md). Kept for the last few payloads: a
    keyed send asks `fits` first, then its record is made from the same payload (compressed
    once). Callers copy what it returns and never change it."""
    raw = payload.encode()
    if len(raw) > COMPRESS_OVER:
        packed = zlib.compress(raw, 6)
        if len(packed) < len(raw) * 0.9:
            return {"pz": packed}
    return {"payload": payload}


def fits(payload: str) -> bool:
    """Whether a payload, as the record keeps it, stays in the record (no item of its own)."""
    kept = stored(payload)
    return len(kept["pz"] if "pz" in kept else kept["payload"].encode()) <= INLINE_MAX


def text(record: dict) -> str:
    """The payload as it was sent, however the record keeps it (in itself, compressed or not,
    or in its payload item: split)."""
    held = _item_of(holder(record)) if record.get("pref") else record
    packed = held.get("pz")
    if packed is not None:
        return zlib.decompress(bytes(getattr(packed, "value", packed))).decode()
    return held["payload"]


@functools.lru_cache(maxsize=32)
def _item_of(holder_id: str) -> dict:
    """A payload item, read once per container: it never changes (only its expiry does), and a
    publish's deliveries, attempted together, all read the same one."""
    held = store.get(*keys.payload(holder_id), consistent=False)
    if not held:
        raise LookupError("the payload item is gone (past its retention)")   # not cached: lru_cache keeps no raise
    return {k: held[k] for k in ("pz", "payload") if k in held}


def split(record: dict) -> tuple[dict, dict | None]:
    """A new record, and its payload's own item when the payload (as kept) is over INLINE_MAX:
    the payload is then written once, and the record, written at least twice, stays under 1 KB,
    so each KB of payload costs one write unit, compressible or not (docs/costs.md). The item
    is written before the record (a record never lacks its payload; an item whose record never
    came expires). Writers of new records call this; a record stored whole works as well."""
    if record.get("pref") or _size(record) <= INLINE_MAX:   # kept elsewhere already (shared), or small
        return record, None
    return {**_slim(record), "pref": 1}, _item(record)


def shared(records: list[dict]) -> tuple[list[dict], dict | None]:
    """The deliveries one publish makes, one per subscription, all with the same payload: over
    SHARE_OVER bytes it is kept once, in the first one's payload item, and each record points to
    that delivery (`pref`), so N deliveries store it once, not N times, and each record stays
    under 1 KB (docs/costs.md). Written before the records, as `split`'s."""
    if len(records) < 2 or _size(records[0]) <= SHARE_OVER:
        return records, None
    holder_id = records[0]["delivery_id"]
    return [{**_slim(r), "pref": holder_id} for r in records], _item(records[0])


def holder(record: dict) -> str:
    """The delivery whose payload item holds this record's payload (its own, or a shared one's)."""
    ref = record.get("pref")
    return ref if isinstance(ref, str) else record["delivery_id"]


def _size(record: dict) -> int:
    kept = record.get("pz") if record.get("pz") is not None else record.get("payload")
    return len(bytes(getattr(kept, "value", kept))) if not isinstance(kept, str) else len(kept.encode())


def _slim(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("pz", "payload")}


def _item(record: dict) -> dict:
    pk, sk = keys.payload(record["delivery_id"])
    return {"pk": pk, "sk": sk, "project_id": record["project_id"],
            **({"pz": record["pz"]} if record.get("pz") is not None else {"payload": record["payload"]}),
            "ttl": expiry(record, record["created_at"])}


def expiry(record: dict, start: float) -> int:
    """A payload item outlives the longest its record can be kept from `start` (a month more)."""
    return int(start + 86400 * (max(record.get("keep") or retention.DEFAULTS.values()) + MARGIN_DAYS))
