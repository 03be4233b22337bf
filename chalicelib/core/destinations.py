"""A subscription's destination in the user's own AWS account, instead of a URL: an SQS queue or
an EventBridge bus, named by ARN, optionally reached through a role to assume (another account).
Pure: the shapes a destination may have, whether the deploy granted it, and what is sent (the
SQS message attributes, the EventBridge entry). The calls themselves: aws/destinations.py.

The deploy setting INFRAI_DESTINATION_ARNS (config.destination_arns) lists the ARNs the
functions' role was granted; when it is set, a destination or role not in it is refused at once
(a 400 naming the setting) rather than failing every attempt with AccessDenied."""
import json
import re

from .errors import InvalidInput

SQS, EVENTBRIDGE = "sqs", "eventbridge"
TYPES = (SQS, EVENTBRIDGE)
_PARTITION = r"aws(?:-[a-z]+)*"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_ARNS = {
    SQS: re.compile(rf"^arn:(?P<partition>{_PARTITION}):sqs:(?P<region>{_REGION}):(?P<account>\d{{12}}):"
                    r"(?P<name>[A-Za-z0-9_-]{1,75}(?:\.fifo)?|[A-Za-z0-9_-]{1,80})$"),
    EVENTBRIDGE: re.compile(rf"^arn:(?P<partition>{_PARTITION}):events:(?P<region>{_REGION}):(?P<account>\d{{12}}):"
                            r"event-bus/(?P<name>[A-Za-z0-9._\-/]{1,256})$"),
}
_ROLE = re.compile(rf"^arn:{_PARTITION}:iam::\d{{12}}:role/[A-Za-z0-9+=,.@_/-]{{1,64}}$")
SHAPES = {SQS: "arn:aws:sqs:<region>:<account>:<queue name>",
          EVENTBRIDGE: "arn:aws:events:<region>:<account>:event-bus/<bus name>"}
FIELDS = ("type", "arn", "role_arn")
# What a destination cannot use: they shape an HTTP request (or watch an HTTP endpoint)
HTTP_ONLY = ("headers", "auth", "circuit_breaker")
SQS_MAX_ATTRIBUTES = 10        # SQS's limit per message
EVENTBRIDGE_MAX_BYTES = 256 * 1024   # an entry's limit, Detail and the rest together


def check(value, granted: list[str] | None, field: str = "destination") -> dict:
    """The stored form of a `destination` ({type, arn, role_arn?}); `granted`: the deploy's
    list of ARNs (None: not set, anything goes, as on the local stack)."""
    if not isinstance(value, dict):
        raise InvalidInput(f"'{field}' must be an object: {{\"type\": \"sqs\", \"arn\": \"{SHAPES[SQS]}\"}} or "
                           f"{{\"type\": \"eventbridge\", \"arn\": \"{SHAPES[EVENTBRIDGE]}\"}}, with an optional "
                           "\"role_arn\" to assume.", field=field)
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"'{field}' has no field '{unknown[0]}'; it takes {', '.join(FIELDS)}.",
                           field=f"{field}.{unknown[0]}")
    kind = value.get("type")
    if kind not in TYPES:
        raise InvalidInput(f"'{field}.type' must be one of {', '.join(TYPES)}.", field=f"{field}.type")
    arn = value.get("arn")
    if not isinstance(arn, str) or not _ARNS[kind].match(arn):
        raise InvalidInput(f"'{field}.arn' must be an {kind} ARN: {SHAPES[kind]}.", field=f"{field}.arn")
    out = {"type": kind, "arn": arn}
    role = value.get("role_arn")
    if role is not None:
        if not isinstance(role, str) or not _ROLE.match(role):
            raise InvalidInput(f"'{field}.role_arn' must be an IAM role ARN: arn:aws:iam::<account>:role/<name>.",
                               field=f"{field}.role_arn")
        out["role_arn"] = role
    if granted is not None:
        for key in ("arn", "role_arn"):
            if key in out and out[key] not in granted:
                raise InvalidInput(f"'{field}.{key}' {out[key]} is not granted to this deployment: add it to the "
                                   "deploy setting INFRAI_DESTINATION_ARNS and deploy again (docs/deployment.md).",
                                   field=f"{field}.{key}")
    return out


def grant_kind(arn: str) -> str | None:
    """What a listed ARN of the deploy setting is: sqs, eventbridge, role, or None (not one)."""
    if _ROLE.match(arn):
        return "role"
    return next((kind for kind, pattern in _ARNS.items() if pattern.match(arn)), None)


def parts(arn: str) -> dict:
    """partition, region, account and name of a destination ARN (one `check` accepted)."""
    for pattern in _ARNS.values():
        m = pattern.match(arn)
        if m:
            return m.groupdict()
    raise ValueError("not a destination ARN")


def queue_url(arn: str, endpoint: str) -> str:
    """The queue's URL on an SQS endpoint (account and name are all SendMessage needs)."""
    p = parts(arn)
    return f"{endpoint.rstrip('/')}/{p['account']}/{p['name']}"


def sqs_message(arn: str, body: str, headers: dict, group: str) -> dict:
    """SendMessage's parameters (but the queue URL): the body as an HTTP receiver gets it, and
    the headers as String message attributes, the signature's three first and at most 10 in
    all. A FIFO queue gets the subscription as its message group and the webhook-id as the
    deduplication id (a second send of one attempt is dropped by SQS itself)."""
    names = ["webhook-id", "webhook-timestamp", "webhook-signature"]
    names += [k for k in headers if k not in names]
    attrs = {k: {"DataType": "String", "StringValue": str(headers[k])}
             for k in names if headers.get(k)}
    out = {"MessageBody": body, "MessageAttributes": dict(list(attrs.items())[:SQS_MAX_ATTRIBUTES])}
    if arn.endswith(".fifo"):
        out.update(MessageGroupId=group, MessageDeduplicationId=headers["webhook-id"])
    return out


def eventbridge_entry(arn: str, body: str, headers: dict, source: str, detail_type: str) -> dict:
    """PutEvents' entry. Detail (a JSON object, as EventBridge requires) is
    {"webhook-id", "webhook-timestamp", "webhook-signature", the infrai-* headers ...,
     "payload": <the payload, an object rules can match on>, "body": <the exact text signed>}.
    Raises ValueError when it is over EventBridge's size limit (no retry can change that)."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    detail = json.dumps({**headers, "payload": payload, "body": body}, separators=(",", ":"))
    entry = {"EventBusName": arn, "Source": source, "DetailType": detail_type, "Detail": detail}
    if len(detail.encode()) + len(source) + len(detail_type) > EVENTBRIDGE_MAX_BYTES:
        raise ValueError(f"the event is over EventBridge's {EVENTBRIDGE_MAX_BYTES // 1024} KB entry limit "
                         "(its Detail holds the payload twice: as an object and as the signed body)")
    return entry


def event_source(topic: str | None) -> str:
    """An entry's Source: `infrai.<topic>` (a subscription always has its topic)."""
    return f"infrai.{topic}" if topic else "infrai"

