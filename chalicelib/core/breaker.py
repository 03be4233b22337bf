"""The circuit breaker's rules, pure: its settings, what an endpoint is, when it trips.

An endpoint is a target URL without its query or fragment (scheme, host, port, path), per
project. After `failures` consecutive failed attempts spread over at least `min_seconds`, the
endpoint is *open*: its deliveries are held (not failed, not dropped) and one probe attempt goes
every `probe_seconds` (half-open); the first success closes it and releases what it held, in
publish order. After DISABLE_AFTER of failure it stays held until released by hand. The state
machine itself is `services/receivers/circuit_breaker.py`."""
import hashlib
from urllib.parse import urlsplit, urlunsplit

from .errors import InvalidInput

DEFAULTS = {"failures": 20, "min_seconds": 300, "probe_seconds": 300}
BOUNDS = {"failures": (1, 1000), "min_seconds": (0, 86400), "probe_seconds": (1, 86400)}
DISABLE_AFTER = 5 * 86400      # failing this long: held until POST /endpoints/{id}/release
CLOSED, OPEN, DISABLED = "closed", "open", "disabled"


def check(value) -> dict | None:
    """`circuit_breaker` as given on a queue: an object (missing fields take the defaults), or
    None to turn the breaker off."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - set(DEFAULTS):
        raise InvalidInput("'circuit_breaker' must be {\"failures\": 1-1000, \"min_seconds\": 0-86400, "
                           "\"probe_seconds\": 1-86400} (missing fields take 20, 300, 300), or null to turn "
                           "it off.", field="circuit_breaker")
    out = dict(DEFAULTS)
    for name, (lo, hi) in BOUNDS.items():
        v = value.get(name, DEFAULTS[name])
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise InvalidInput(f"'circuit_breaker.{name}' must be a whole number from {lo} to {hi}.",
                               field=f"circuit_breaker.{name}")
        out[name] = v
    return out


def fields(body: dict) -> dict:
    """`circuit_breaker` as given on a queue, a webhook send or a cron job, as the fields its
    record keeps: none when absent (the defaults apply), else its settings, or `breaker_off`
    when null."""
    if "circuit_breaker" not in body:
        return {}
    cfg = check(body["circuit_breaker"])
    return {"circuit_breaker": cfg, "breaker_off": None if cfg else True}


def settings(holder: dict) -> dict | None:
    """The breaker settings of a queue, a cron job or a delivery: its own, the defaults if it
    never set any, None if turned off."""
    if holder.get("breaker_off"):
        return None
    return holder.get("circuit_breaker") or dict(DEFAULTS)


def is_set(holder: dict) -> bool:
    """Whether a record chose its breaker (own settings, or off) rather than the defaults."""
    return bool(holder.get("circuit_breaker") or holder.get("breaker_off"))


def endpoint_of(url: str) -> str:
    """The endpoint a URL belongs to: the URL without query and fragment, host lower-cased."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", "", ""))


def endpoint_id(project_id: str, endpoint: str) -> str:
    """Stable, URL-safe and per project (the same URL in two projects is two endpoints)."""
    return "ep_" + hashlib.sha256(f"{project_id}|{endpoint}".encode()).hexdigest()[:24]


def trips(fails: int, first_fail_at: float, now: float, cfg: dict) -> bool:
    return fails >= cfg["failures"] and now - first_fail_at >= cfg["min_seconds"]
