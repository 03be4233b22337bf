"""SSM Parameter Store: the stage's secrets that provisioning made (deploy/provision.py), such as
the sealing key. A value is read once per container: the functions need it on many requests,
and a read costs a call (and a KMS decryption) that a warm container need not repeat."""
import functools
import logging

from botocore.exceptions import BotoCoreError, ClientError

from . import clients

log = logging.getLogger(__name__)


class Unreadable(LookupError):
    """The parameter is missing, or this function may not read it, or SSM did not answer."""


@functools.lru_cache(maxsize=8)   # a failure raises, and lru_cache keeps no exception: the next call asks again
def _secure_string(name: str) -> str:
    return clients.ssm().get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]


def secure_string(name: str) -> str:
    """The decrypted value of the SecureString `name`. Raises Unreadable (its reason logged, never
    the value)."""
    try:
        return _secure_string(name)
    except ClientError as e:
        log.error("SSM parameter %s could not be read: %s", name, e.response.get("Error", {}).get("Code"))
        raise Unreadable(name) from None
    except BotoCoreError as e:
        log.error("SSM parameter %s could not be read: %s", name, type(e).__name__)
        raise Unreadable(name) from None


def reset() -> None:
    """Forget the values read (tests that change the parameter or restart moto)."""
    _secure_string.cache_clear()
