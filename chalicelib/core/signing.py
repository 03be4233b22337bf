"""Standard Webhooks v1 signatures (standardwebhooks.com), written out because the scheme is
ten lines of `hmac` and the reference package would bring httpx into the Lambda bundle.

signature = base64(HMAC-SHA256(key, f"{webhook_id}.{timestamp}.{body}")), key = base64 after `whsec_`."""
import base64
import hashlib
import hmac
import os

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw)


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    to_sign = f"{webhook_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per active secret (several during a rotation)."""
    return " ".join(sign(s, webhook_id, timestamp, body) for s in secrets)


def webhook_headers(secrets, webhook_id: str, timestamp: int, body: bytes) -> dict:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature_header(secrets, webhook_id, timestamp, body),
    }
