"""Standard Webhooks signatures (standardwebhooks.com), written out because the schemes are a few
lines over `hmac` and `cryptography` and the reference package would bring httpx into the Lambda bundle.

Both sign the same content, f"{webhook_id}.{timestamp}.{body}":
- v1 (symmetric): base64(HMAC-SHA256(key, content)), key = base64 after `whsec_`;
- v1a (asymmetric): base64(Ed25519 signature of content), made with a `whsk_` secret key and
  verified with its `whpk_` public key, so a receiver holds nothing that can sign.
`webhook-signature` carries every signature space separated: one per live secret or key, of each
scheme the project chose (during a migration both schemes, during a rotation old and new)."""
import base64
import hashlib
import hmac
import os
from typing import NamedTuple

SECRET_PREFIX = "whsec_"
SECRET_KEY_PREFIX = "whsk_"    # never leaves the service: sealed at rest, unsealed to sign
PUBLIC_KEY_PREFIX = "whpk_"


class Signer(NamedTuple):
    """What one project signs with now."""
    secrets: tuple = ()       # whsec_…: one v1 signature each
    secret_keys: tuple = ()   # whsk_…: one v1a signature each


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


def _ed25519():
    from cryptography.hazmat.primitives.asymmetric import ed25519   # at first use (cold start)
    return ed25519


def new_key_pair() -> tuple[str, str]:
    """(whsk_…, whpk_…). The secret key is held as libsodium and Go hold one: the 32-byte seed,
    then the 32-byte public key."""
    seed = os.urandom(32)
    public = _public_bytes(seed)
    return (SECRET_KEY_PREFIX + base64.b64encode(seed + public).decode(),
            PUBLIC_KEY_PREFIX + base64.b64encode(public).decode())


def _seed(secret_key: str) -> bytes:
    raw = base64.b64decode(secret_key[len(SECRET_KEY_PREFIX):] if secret_key.startswith(SECRET_KEY_PREFIX)
                           else secret_key)
    if len(raw) not in (32, 64):
        raise ValueError("a whsk_ key is base64 of a 32-byte Ed25519 seed (optionally followed by its public key)")
    return raw[:32]


def _public_bytes(seed: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    key = _ed25519().Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key(secret_key: str) -> str:
    """The whpk_ key that verifies what `secret_key` signs."""
    return PUBLIC_KEY_PREFIX + base64.b64encode(_public_bytes(_seed(secret_key))).decode()


def sign_v1a(secret_key: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    to_sign = f"{webhook_id}.{int(timestamp)}.".encode() + body
    signature = _ed25519().Ed25519PrivateKey.from_private_bytes(_seed(secret_key)).sign(to_sign)
    return "v1a," + base64.b64encode(signature).decode()


def signed_headers(signer: Signer, webhook_id: str, timestamp: int, body: bytes) -> dict:
    """The three Standard Webhooks headers: v1 signatures first, then v1a."""
    signatures = [sign(s, webhook_id, timestamp, body) for s in signer.secrets]
    signatures += [sign_v1a(k, webhook_id, timestamp, body) for k in signer.secret_keys]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(signatures),
    }


def webhook_headers(secrets, webhook_id: str, timestamp: int, body: bytes) -> dict:
    """The headers of v1 signatures alone, one per secret."""
    return signed_headers(Signer(tuple(secrets)), webhook_id, timestamp, body)
