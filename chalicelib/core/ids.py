"""Prefixed, time-sortable, URL-safe ids: `dlv_01J…`. No dots (the signature joins on dots).

Layout: 48-bit millisecond timestamp + 80 random bits, Crockford base32 (ULID), so ids
sort by creation time and DynamoDB can list newest first by sort key alone (within one
millisecond, by the order this process made them)."""
import hashlib
import os
import re
import threading

from . import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = ("dlv", "msg", "cron", "proj", "key", "run", "rpl", "evt", "whk", "aud", "sub")   # whk: a v1a signing key; aud: an audit entry; sub: a topic subscription
_ID_RE = re.compile(r"(%s)_[0-9A-HJKMNP-TV-Z]{26}" % "|".join(PREFIXES))


def _b32(n: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[n & 31])
        n >>= 5
    return "".join(reversed(out))


_last = {"ms": -1, "rand": 0}
_lock = threading.Lock()


def new_id(prefix: str, at: float | None = None) -> str:
    """Monotonic within a process: ids made in the same millisecond (a batch of 100 publishes)
    still sort in the order they were made, as ULID's monotonic mode does. The random part
    starts below 2**79, leaving room to count up."""
    assert prefix in PREFIXES, prefix
    ms = int((clock.now() if at is None else at) * 1000)
    with _lock:
        if ms == _last["ms"]:
            rand = _last["rand"] + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1
        _last["ms"], _last["rand"] = ms, rand
    return f"{prefix}_{_b32(ms, 10)}{_b32(rand, 16)}"


def order_key(at: float, any_id: str) -> str:
    """A queue's one ordering key for its messages (the state index's sort key): `msg_`, the time
    the message joined the queue, then the id's random part. A published message's own id is
    already this; a cron-fed message (a `dlv_` id, which sorted before every `msg_`) and a
    replayed one (its old id, which sorted first) get one made when they join, so FIFO order
    is the order messages joined the queue, and a replay goes behind."""
    return f"msg_{_b32(int(at * 1000), 10)}{any_id[-16:]}"


def derived_id(prefix: str, at: float, *parts: str) -> str:
    """The same id for the same inputs: a cron firing (cron id, scheduled time) always maps to
    one delivery, however many times Scheduler sends it. Still sorts by `at`."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return f"{prefix}_{_b32(int(at * 1000), 10)}{_b32(int.from_bytes(digest[:10], 'big'), 16)}"


def time_of(any_id: str) -> float:
    """The time an id was made (or derived) at, to the millisecond."""
    n = 0
    for ch in any_id.split("_", 1)[1][:10]:
        n = n * 32 + _ALPHABET.index(ch)
    return n / 1000


def time_prefix(prefix: str, at: float) -> str:
    """The start every id made (or derived) at `at` shares, to the millisecond: ids made between
    two times sort between their prefixes."""
    return f"{prefix}_{_b32(int(at * 1000), 10)}"


def is_id(value, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix + "_") and bool(_ID_RE.fullmatch(value))
