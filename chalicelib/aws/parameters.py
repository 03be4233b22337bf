"""SSM Parameter Store: the stage's secrets that provisioning made (deploy/provision.py), such as
the sealing key. A value is kept REFRESH_SECONDS per container: the functions need it on many
requests, and a read costs a call (and a KMS decryption) a warm container need not repeat every
time; a change (a key rotated in) reaches every container within that, with no deploy. If SSM
does not answer a refresh, the value last read still serves."""
import logging
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from . import clients

log = logging.getLogger(__name__)


class Unreadable(LookupError):
    """The parameter is missing, or this function may not read it, or SSM did not answer."""


REFRESH_SECONDS = 300
_read: dict[str, tuple[str, float]] = {}   # name -> (value, when it was read)
_lock = threading.Lock()


def _now() -> float:
    return time.monotonic()


def secure_string(name: str) -> str:
    """The decrypted value of the SecureString `name`. Raises Unreadable (its reason logged, never
    the value) when it cannot be read and was never read before; a failure is not kept, so the
    next call asks again."""
    with _lock:
        kept = _read.get(name)
    if kept and _now() - kept[1] < REFRESH_SECONDS:
        return kept[0]
    try:
        value = clients.ssm().get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except (ClientError, BotoCoreError) as e:
        reason = e.response.get("Error", {}).get("Code") if isinstance(e, ClientError) else type(e).__name__
        if kept:   # a refresh that failed: the value last read still serves
            log.warning("SSM parameter %s could not be read again (%s); keeping the value read before", name, reason)
            return kept[0]
        log.error("SSM parameter %s could not be read: %s", name, reason)
        raise Unreadable(name) from None
    with _lock:
        _read[name] = (value, _now())
    return value


def reset() -> None:
    """Forget the values read (tests that change the parameter or restart moto)."""
    with _lock:
        _read.clear()
