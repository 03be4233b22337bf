"""Flow control's rules, pure: what a limit may be, and how far apart its sends must be.

A limit is `rate_limit: {count, period_seconds}` (sends spread evenly: one every
period/count, so never more than `count` start in any window of `period_seconds`) and/or
`parallelism` (attempts in flight at once). The limiter that enforces them across every
deliver function instance is `services/receivers/flow_control.py`."""
import re

from . import validation
from .errors import InvalidInput

MIN_PERIOD = 1
MAX_PERIOD = 7 * 24 * 3600
MAX_COUNT = 100_000
# Leases live in one item: 100 of them stay a few KB, so a lease write stays a few write units.
MAX_PARALLELISM = 100
FIELDS = ("rate_limit", "parallelism")
KEY_RE = re.compile(r"[A-Za-z0-9._-]{1,80}")   # no ':' or '#': flow keys share no key space with queues
# Sends are spaced by period/count plus this much (at most 100 ms a send): the spacing is
# enforced where the send is let go, and the slack (together 10 % of the period, or 100 ms per
# send, whichever is less) keeps the jitter between that moment and the receiver (a DynamoDB
# round trip, the connection, the network) from showing it count + 1 arrivals in one period.
GUARD_FRACTION = 0.10
MAX_GUARD = 0.10
WAIT_CAP_WOKEN = 300    # a waiter on a queue is woken when a slot frees; this is only its backstop
WAIT_CAP_POLLED = 30    # a waiter on a flow key re-checks by itself, at most this long apart


def check_key(key, field="flow_key") -> str:
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise InvalidInput(f"'{field}' must be 1 to 80 letters, digits, '-', '_' or '.', e.g. 'acme-api'.",
                           field=field)
    return validation.not_only_dots(key, field)


def check(body: dict) -> dict:
    """The limit fields present in `body`, validated (None turns a limit off)."""
    out = {}
    if "rate_limit" in body:
        out["rate_limit"] = _rate(body["rate_limit"])
    if "parallelism" in body:
        p = body["parallelism"]
        if p is not None and (isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= MAX_PARALLELISM):
            raise InvalidInput(f"'parallelism' must be a whole number from 1 to {MAX_PARALLELISM} "
                               "(attempts in flight at once; 1 makes the queue FIFO), or null for no limit.",
                               field="parallelism")
        out["parallelism"] = p
    return out


def _rate(value) -> dict | None:
    if value is None:
        return None
    hint = ("'rate_limit' must be {\"count\": 1 to %d, \"period_seconds\": %d to %d}, e.g. "
            "{\"count\": 10, \"period_seconds\": 1}, or null for no limit." % (MAX_COUNT, MIN_PERIOD, MAX_PERIOD))
    if not isinstance(value, dict) or set(value) != {"count", "period_seconds"}:
        raise InvalidInput(hint, field="rate_limit")
    for name, lo, hi in (("count", 1, MAX_COUNT), ("period_seconds", MIN_PERIOD, MAX_PERIOD)):
        v = value[name]
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise InvalidInput(f"'rate_limit.{name}' must be a whole number from {lo} to {hi}. " + hint,
                               field=f"rate_limit.{name}")
    return {"count": value["count"], "period_seconds": value["period_seconds"]}


def limited(limits: dict | None) -> bool:
    return bool(limits and (limits.get("rate_limit") or limits.get("parallelism")))


def spacing(rate: dict) -> float:
    """Seconds between two sends under `rate`."""
    gap = rate["period_seconds"] / rate["count"]
    return gap + min(gap * GUARD_FRACTION, MAX_GUARD)


def wait_backoff(waits: int, woken: bool) -> float:
    """How long a message that found every slot taken waits before looking again by itself:
    1 s, doubling, capped (a waiter on a queue is normally woken sooner, when a slot frees)."""
    return float(min(2 ** min(waits, 12), WAIT_CAP_WOKEN if woken else WAIT_CAP_POLLED))


def view(limits: dict) -> dict:
    return {"rate_limit": limits.get("rate_limit"), "parallelism": limits.get("parallelism")}
