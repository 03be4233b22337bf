"""Verify webhooks you receive from infrai (Standard Webhooks v1, standardwebhooks.com).

    from infrai import webhooks
    event = webhooks.verify(request_body_bytes, request.headers, "whsec_…")

Signed content: `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with the secret's base64
bytes; header `webhook-signature: v1,<base64> [v1,<base64> …]` (several during a secret rotation).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Callable, Mapping, Optional, Union

from .errors import WebhookVerificationError

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"

Clock = Union[float, int, Callable[[], float], None]


def _secret_bytes(secret: Union[str, bytes]) -> bytes:
    if isinstance(secret, bytes):
        return secret
    text = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("The signing secret is not a 'whsec_<base64>' secret; copy it from "
                                       "infra.webhook.secret()['secret'].") from None


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    lowered = {str(k).lower(): v for k, v in dict(headers).items()}
    return lowered.get(name) or lowered.get(name.replace("webhook-", "svix-"))


def sign(secret: Union[str, bytes], msg_id: str, timestamp: int, body: Union[str, bytes]) -> str:
    """`v1,<base64 signature>` for one message (what the sender puts in webhook-signature)."""
    content = body.decode("utf-8") if isinstance(body, bytes) else body
    mac = hmac.new(_secret_bytes(secret), f"{msg_id}.{timestamp}.{content}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify(body: Union[str, bytes], headers: Mapping[str, str], secret: Union[str, bytes], *,
           tolerance: int = TOLERANCE_SECONDS, now: Clock = None) -> Any:
    """Check the signature and timestamp of a received webhook and return its parsed JSON body.

    `body` must be the raw request body (bytes or str) exactly as received; `headers` any mapping
    (case-insensitive). `now` (seconds, or a function returning them) replaces the clock in tests.
    Raises WebhookVerificationError saying what is wrong."""
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    missing = [n for n, v in (("webhook-id", msg_id), ("webhook-timestamp", timestamp),
                              ("webhook-signature", signatures)) if not v]
    if missing:
        raise WebhookVerificationError(f"Missing header(s): {', '.join(missing)}; this request was not "
                                       "signed by infrai (or a proxy dropped the headers).")
    try:
        ts = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp {timestamp!r} is not a Unix time in seconds.") from None
    current = now() if callable(now) else (time.time() if now is None else float(now))
    if ts < current - tolerance:
        raise WebhookVerificationError(f"Message timestamp too old: {int(current - ts)} s ago, more than the "
                                       f"{tolerance} s tolerance (a replay, or this server's clock is wrong).")
    if ts > current + tolerance:
        raise WebhookVerificationError(f"Message timestamp too new: {int(ts - current)} s in the future, more "
                                       f"than the {tolerance} s tolerance (check this server's clock).")
    expected = sign(secret, msg_id, ts, body).split(",", 1)[1].encode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            break
    else:
        raise WebhookVerificationError("No matching signature: the body was changed, or it was signed with "
                                       "another secret (after a rotation use the new secret; verify the raw "
                                       "body, not re-encoded JSON).")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except ValueError:
        return text
