"""How long a project's deliveries are kept once they end: `retention_days` per outcome, a
project setting (PATCH /v1/auth/project). Each delivery is stamped with its project's setting
when it is made (`keep`) and given its expiry (`ttl`, DynamoDB's TTL attribute) by the write
that ends it, so the setting costs no read on the delivery path. DynamoDB deletes an expired
item within a few days of its time, and every read treats it as gone from that time on
(deliveries.expired); its index entries go with it."""
import threading
import time

from ...aws import keys, store
from ...core.errors import InvalidInput

DEFAULTS = {"succeeded": 30, "failed": 90}   # cancelled deliveries are kept as long as failed ones
BOUNDS = (1, 400)
CACHE_SECONDS = 60    # a changed setting reaches deliveries made on other instances within this
_cache: dict = {}
_lock = threading.Lock()


def days(project_id: str) -> dict:
    """The project's retention in days, {succeeded, failed}, cached per process."""
    with _lock:
        hit = _cache.get(project_id)
    if hit and hit[1] > time.monotonic():
        return hit[0]
    value = view(store.get(*keys.project(project_id), consistent=False) or {})
    with _lock:
        _cache[project_id] = (value, time.monotonic() + CACHE_SECONDS)
    return value


def stamp(project_id: str) -> list[int]:
    """What a new delivery carries: [days kept after success, days kept after failure]."""
    d = days(project_id)
    return [d["succeeded"], d["failed"]]


def check(value) -> dict:
    """A `retention_days` object from a request, checked: each outcome 1 to 400 days."""
    if not isinstance(value, dict) or not value:
        raise InvalidInput("'retention_days' must be an object such as {\"succeeded\": 30, \"failed\": 90}.",
                           field="retention_days")
    extra = sorted(set(value) - set(DEFAULTS))
    if extra:
        name = f"retention_days.{str(extra[0])[:40]}"
        raise InvalidInput(f"Unknown field '{name}'; accepted: succeeded, failed.", field=name)
    out = {}
    for k, v in value.items():
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or not BOUNDS[0] <= v <= BOUNDS[1]:
            raise InvalidInput(f"'retention_days.{k}' must be a whole number of days from {BOUNDS[0]} to "
                               f"{BOUNDS[1]}.", field=f"retention_days.{k}")
        out[k] = v
    return out


def view(project: dict) -> dict:
    """The setting as a project item holds it, the defaults where it was never set."""
    return {**DEFAULTS, **(project.get("retention_days") or {})}


def merged(project: dict, value) -> dict:
    """What a PATCH of `retention_days` stores: the checked value over the project's current
    setting (either outcome may be sent alone)."""
    return {**view(project), **check(value)}


def forget(project_id: str) -> None:
    """A changed setting applies at once to deliveries made by this instance (others: CACHE_SECONDS)."""
    with _lock:
        _cache.pop(project_id, None)


def forget_cached() -> None:
    with _lock:
        _cache.clear()
