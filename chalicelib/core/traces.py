"""W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate`
a delivery is published with, and the ones each of its attempts is sent with.

A delivery belongs to one trace. Published with a valid `traceparent`, it joins the publisher's
trace: that header (normalised to version 00) and its `tracestate` are its only added storage,
one short attribute (`stored`), present only then. Published without one, or with a malformed
one (which, as the spec says, is ignored and a new trace started, never refused), it starts
its own trace, *derived* from its delivery id (`of`): nothing is stored, and every read, every
attempt and every replay finds the same trace id again. So a cron run, whose delivery id is
new per run, starts a new trace per run.

Each attempt is a span of its own, a child of the delivery's parent span: its id is derived
from the delivery id and the attempt number, so an attempt sent twice after a crash (same
webhook-id, same infrai-attempt) carries the same span, and the history shows it without
storing it."""
import hashlib
import re
from typing import NamedTuple

VERSION = "00"
SAMPLED = 0x01
MAX_TRACESTATE = 512     # the spec's limit for what a vendor must propagate
MAX_TRACESTATE_MEMBERS = 32
_HEX = re.compile(r"[0-9a-f]+")
_TRACESTATE_KEY = re.compile(r"([a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})")
_TRACESTATE_VALUE = re.compile(r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]")


class Trace(NamedTuple):
    trace_id: str           # 32 lowercase hex
    parent_id: str          # 16 lowercase hex: the span the attempts are children of
    flags: int              # only the sampled bit is kept
    state: str | None = None   # tracestate, passed on unchanged
    derived: bool = False   # started here (no valid traceparent came with the delivery)


def _hex_id(value: str, length: int) -> bool:
    return len(value) == length and bool(_HEX.fullmatch(value)) and value.strip("0") != ""


def parse(traceparent, tracestate=None) -> Trace | None:
    """The trace a `traceparent` header names, or None when it is absent or malformed (the
    caller then starts a new trace). A future version is read by its first four fields, as
    the spec asks; version ff and all-zero ids are invalid. A malformed `tracestate` is
    dropped, the traceparent kept."""
    if not isinstance(traceparent, str):
        return None
    value = traceparent.strip(" \t")
    parts = value[:55].split("-")
    if len(value) < 55 or len(parts) != 4:
        return None
    version, trace_id, parent_id, flags = parts
    if not (len(version) == 2 and _HEX.fullmatch(version)) or version == "ff":
        return None
    if version == VERSION and len(value) != 55:
        return None
    if len(value) > 55 and value[55] != "-":
        return None
    if not (_hex_id(trace_id, 32) and _hex_id(parent_id, 16) and len(flags) == 2 and _HEX.fullmatch(flags)):
        return None
    return Trace(trace_id, parent_id, int(flags, 16) & SAMPLED, clean_state(tracestate))


def clean_state(tracestate) -> str | None:
    """`tracestate` if well formed (at most 32 `key=value` members, 512 characters), else None."""
    if not isinstance(tracestate, str):
        return None
    members = [m.strip(" \t") for m in tracestate.split(",")]
    members = [m for m in members if m]
    if not members or len(members) > MAX_TRACESTATE_MEMBERS:
        return None
    for m in members:
        key, eq, val = m.partition("=")
        if not eq or not _TRACESTATE_KEY.fullmatch(key) or not _TRACESTATE_VALUE.fullmatch(val):
            return None
    out = ",".join(members)
    return out if len(out) <= MAX_TRACESTATE else None


def from_headers(headers) -> Trace | None:
    """The trace of a request's `traceparent` and `tracestate` headers (names in any case)."""
    found = {k.lower(): v for k, v in (headers or {}).items() if k.lower() in ("traceparent", "tracestate")}
    return parse(found.get("traceparent"), found.get("tracestate"))


def traceparent(trace_id: str, span_id: str, flags: int) -> str:
    return f"{VERSION}-{trace_id}-{span_id}-{flags:02x}"


def stored(trace: Trace | None) -> str | None:
    """One short attribute for a delivery record: the normalised traceparent (55 characters),
    then its tracestate after a space when there is one. None for a derived trace."""
    if trace is None or trace.derived:
        return None
    head = traceparent(trace.trace_id, trace.parent_id, trace.flags)
    return f"{head} {trace.state}" if trace.state else head


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(("infrai-trace",) + parts).encode()).digest()


def _nonzero(raw: bytes) -> str:
    value = raw.hex()
    return value if value.strip("0") else "0" * (len(value) - 1) + "1"


def derived(delivery_id: str) -> Trace:
    """The trace a delivery published without one starts: ids from its delivery id, sampled
    (so that a receiver's parent-based sampler records its side of it)."""
    d = _digest(delivery_id)
    return Trace(_nonzero(d[:16]), _nonzero(d[16:24]), SAMPLED, None, True)


def of(record: dict) -> Trace:
    """A delivery record's trace: the one it was published with (`tp`), else its own."""
    value = record.get("tp")
    if isinstance(value, str):
        head, _, state = value.partition(" ")
        found = parse(head, state or None)
        if found:
            return found
    return derived(record["delivery_id"])


def attempt_span(delivery_id: str, n: int) -> str:
    """The span id of attempt n of a delivery."""
    return _nonzero(_digest(delivery_id, str(n))[:8])


def attempt_headers(record: dict, n: int) -> dict:
    """The trace headers attempt n is sent with: the delivery's trace id, this attempt's span."""
    trace = of(record)
    out = {"traceparent": traceparent(trace.trace_id, attempt_span(record["delivery_id"], n), trace.flags)}
    if trace.state:
        out["tracestate"] = trace.state
    return out


def child_of_attempt(record: dict, n: int) -> Trace:
    """The trace of what attempt n of `record` leads to (its callback, its delivery.failed
    event): the same trace, with that attempt's span as parent."""
    trace = of(record)
    return Trace(trace.trace_id, attempt_span(record["delivery_id"], n), trace.flags, trace.state)
