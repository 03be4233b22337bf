"""The calls that deliver to a destination in the user's AWS account (core/destinations.py):
SQS SendMessage and EventBridge PutEvents, in the destination's region, with the functions' own
role or, given a `role_arn`, with that role's temporary credentials (STS AssumeRole, kept until
shortly before they expire). Every outcome is an attempt's result (sender.AttemptResult): an
AWS error (AccessDenied, NonExistentQueue, throttling, a timeout) is a failed attempt with a short
error, retried like an HTTP failure, never an exception."""
import threading
import time

from .. import config, sender
from ..core import clock, destinations
from . import clients

ACCEPTED = 200          # an accepted send's "status", as an HTTP 2xx
RENEW_BEFORE = 300      # s: assumed credentials are renewed this long before they expire
SESSION_DURATION = 3600
ERROR_CHARS = 200

_lock = threading.Lock()
_assume_lock = threading.Lock()
_assumed: dict = {}     # role ARN -> (expires at, credentials)
_assumed_clients: dict = {}   # (service, region, access key id) -> client


def send(destination: dict, body: str, headers: dict, group: str, topic: str | None,
         event_type: str | None) -> sender.AttemptResult:
    """One attempt: the message sent, or why not."""
    started = time.monotonic()
    try:
        if destination["type"] == destinations.SQS:
            note, error = _send_sqs(destination, body, headers, group)
        else:
            note, error = _put_event(destination, body, headers, topic, event_type)
    except ValueError as e:   # over a size limit: no retry can change that
        note, error = "", f"refused: {e}"
    except Exception as e:  # noqa: BLE001 - any AWS failure is a failed attempt, never a crash
        note, error = "", _short(e)
    ms = int((time.monotonic() - started) * 1000)
    return sender.AttemptResult(status=None if error else ACCEPTED, duration_ms=ms, error=error,
                                excerpt=note, retry_after=None)


def _send_sqs(destination: dict, body: str, headers: dict, group: str) -> tuple[str, str | None]:
    sqs = _client("sqs", destination)
    params = destinations.sqs_message(destination["arn"], body, headers, group)
    sent = sqs.send_message(QueueUrl=destinations.queue_url(destination["arn"], sqs.meta.endpoint_url), **params)
    return f"SQS MessageId {sent['MessageId']}", None


def _put_event(destination: dict, body: str, headers: dict, topic: str | None,
               event_type: str | None) -> tuple[str, str | None]:
    entry = destinations.eventbridge_entry(destination["arn"], body, headers, destinations.event_source(topic),
                                           event_type or "webhook")
    put = _client("events", destination).put_events(Entries=[entry])
    result = (put.get("Entries") or [{}])[0]
    if put.get("FailedEntryCount"):
        return "", f"{result.get('ErrorCode', 'FailedEntry')}: {result.get('ErrorMessage', '')}"[:ERROR_CHARS]
    return f"EventBridge EventId {result.get('EventId')}", None


def _client(service: str, destination: dict):
    region = destinations.parts(destination["arn"])["region"]
    role = destination.get("role_arn")
    if not role:
        return clients.in_region(service, region)
    creds = _credentials(role)
    key = (service, region, creds["AccessKeyId"])
    with _lock:
        made = _assumed_clients.get(key)
    if made is None:
        made = clients.with_credentials(service, region, creds)
        with _lock:
            _assumed_clients[key] = made
    return made


def _credentials(role_arn: str) -> dict:
    """The role's temporary credentials, assumed once and reused until RENEW_BEFORE their end
    (one AssumeRole at a time: a batch's deliveries to one role wait for the first's)."""
    with _assume_lock:
        held = _assumed.get(role_arn)
        if held and held[0] - RENEW_BEFORE > clock.now():
            return held[1]
        creds = clients.sts().assume_role(RoleArn=role_arn, RoleSessionName=f"infrai-{config.stage()}-delivery",
                                          DurationSeconds=SESSION_DURATION)["Credentials"]
        expires = creds["Expiration"]
        _assumed[role_arn] = (expires.timestamp() if hasattr(expires, "timestamp") else clock.now() + SESSION_DURATION,
                              creds)
    if held:
        with _lock:
            for k in [k for k in _assumed_clients if k[2] == held[1]["AccessKeyId"]]:
                del _assumed_clients[k]
    return creds


def _short(e: Exception) -> str:
    """`Code: message`, short, for the attempt's record (no payload, no secret is in it)."""
    err = (getattr(e, "response", None) or {}).get("Error") or {}
    code = err.get("Code") or type(e).__name__
    return f"{code}: {err.get('Message') or e}"[:ERROR_CHARS]


def forget() -> None:
    """Drop assumed credentials (tests)."""
    with _assume_lock, _lock:
        _assumed.clear()
        _assumed_clients.clear()
