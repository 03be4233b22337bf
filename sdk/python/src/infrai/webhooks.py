"""Verify webhooks you receive from infrai (Standard Webhooks, standardwebhooks.com).

    from infrai import webhooks
    event = webhooks.verify(request_body_bytes, request.headers, "whsec_…")   # v1: the shared secret
    event = webhooks.verify(request_body_bytes, request.headers, "whpk_…")    # v1a: a public key

Signed content: `{webhook-id}.{webhook-timestamp}.{body}`. v1: HMAC-SHA256 with the secret's
base64 bytes. v1a: an Ed25519 signature, checked with the project's public key (whpk_ + base64 of
its 32 bytes; needs the `cryptography` package: pip install 'infrai-scheduling[v1a]'). Header
`webhook-signature: v1,<base64> v1a,<base64> …` (several during a migration or a rotation).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from .errors import WebhookVerificationError

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"
PUBLIC_KEY_PREFIX = "whpk_"

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


def _public_key(key: str):
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise WebhookVerificationError("Verifying v1a (whpk_) signatures needs the `cryptography` package: "
                                       "pip install 'infrai-scheduling[v1a]'.") from None
    try:
        raw = base64.b64decode(key[len(PUBLIC_KEY_PREFIX):], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("The public key is not a 'whpk_<base64 of 32 bytes>' key; copy it from "
                                       "infra.webhook.public_keys()['keys'][0]['public_key'].") from None


def _v1a_matches(key: str, content: bytes, signatures: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    public = _public_key(key)
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version != "v1a":
            continue
        try:
            public.verify(base64.b64decode(value, validate=True), content)
            return True
        except (InvalidSignature, binascii.Error, ValueError):
            continue
    return False


def _matches(key: Union[str, bytes], msg_id: str, ts: int, body: Union[str, bytes], signatures: str) -> bool:
    if isinstance(key, str) and key.startswith(PUBLIC_KEY_PREFIX):
        raw = body if isinstance(body, bytes) else body.encode("utf-8")
        return _v1a_matches(key, f"{msg_id}.{ts}.".encode() + raw, signatures)
    expected = sign(key, msg_id, ts, body).split(",", 1)[1].encode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return True
    return False


def verify(body: Union[str, bytes], headers: Mapping[str, str],
           secret: Union[str, bytes, Sequence[Union[str, bytes]]], *,
           tolerance: int = TOLERANCE_SECONDS, now: Clock = None) -> Any:
    """Check the signature and timestamp of a received webhook and return its parsed JSON body.

    `secret`: the project's whsec_ secret (checks v1 signatures), or one of its whpk_ public keys
    (checks v1a, Ed25519: nothing a receiver holds can sign), or a list of them, any one of which
    may verify (e.g. the old and the new public key around a rotation).
    `body` must be the raw request body (bytes or str) exactly as received; `headers` any mapping
    (case-insensitive). `now` (seconds, or a function returning them) replaces the clock in tests.
    Raises WebhookVerificationError saying what is wrong."""
    keys = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    if not keys:
        raise WebhookVerificationError("No secret or public key to verify with: pass the whsec_ secret or a whpk_ key.")
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
    if not any(_matches(key, msg_id, ts, body, signatures) for key in keys):
        schemes = {c.partition(",")[0] for c in signatures.split(" ")}
        public = [k for k in keys if isinstance(k, str) and k.startswith(PUBLIC_KEY_PREFIX)]
        if public and "v1a" not in schemes:
            raise WebhookVerificationError("No v1a signature to check the public key against: this project signs "
                                           "with v1 only; turn v1a on (infra.auth.update_project(signatures="
                                           "['v1', 'v1a'])) or verify with the whsec_ secret.")
        if not public and "v1" not in schemes:
            raise WebhookVerificationError("No v1 signature to check the secret against: this project signs with "
                                           "v1a only; verify with its whpk_ public key (infra.webhook.public_keys()).")
        raise WebhookVerificationError("No matching signature: the body was changed, or it was signed with "
                                       "another secret or key (after a rotation use the new one; verify the raw "
                                       "body, not re-encoded JSON).")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except ValueError:
        return text
