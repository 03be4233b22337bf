"""Time, in one place, so tests can inject a clock and every timestamp has one format."""
import time
from datetime import datetime, timezone

_now = time.time
_sleep = time.sleep


def now() -> float:
    """Seconds since the epoch (float). Patch `set_clock` in tests, never `time.time`."""
    return _now()


def set_clock(fn) -> None:
    global _now
    _now = fn or time.time


def sleep(seconds: float) -> None:
    """Wait (flow control's short waits for a send slot); tests inject one with `set_sleeper`
    that moves their clock instead."""
    if seconds > 0:
        _sleep(seconds)


def set_sleeper(fn) -> None:
    global _sleep
    _sleep = fn or time.sleep


def rfc3339(ts: float | None) -> str | None:
    """RFC 3339 UTC with a `Z` and millisecond precision, or None."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(float(ts), tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
