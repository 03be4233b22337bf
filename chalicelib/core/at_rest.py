"""Secrets kept in DynamoDB, sealed: an endpoint's OAuth2 client secret and mTLS private key,
credential-like header values, a project's private signing key. A reader of the table (a
backup, an export, the local stack's snapshot file) gets ciphertext; only the functions, which
hold the sealing key, read them. AES-256-GCM under the stage's key (config.seal_keys), with
`context` (where the value lives, e.g. "<project id>:auth.client_secret") as associated data, so a
sealed value copied to another item or field does not unseal there. Several keys may be
configured: the first seals, each is tried to unseal, so a key can be rotated in by putting it
first and re-sealing at leisure. The cryptography import waits for the first use (cold start)."""
import base64
import hashlib
import os

from .. import config

PREFIX = "sealed1:"
_aeads = {}


class Unreadable(ValueError):
    """A sealed value that no configured key opens (another stage's key, or a wrong context)."""


def is_sealed(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _aead(key: bytes):
    aead = _aeads.get(key)
    if aead is None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        aead = _aeads[key] = AESGCM(key)
    return aead


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"infrai-at-rest:" + key).digest()[:4]


def seal(text: str, context: str) -> str:
    """`text` sealed under the current key: PREFIX + base64(key id, nonce, ciphertext)."""
    key = config.seal_keys()[0]
    nonce = os.urandom(12)
    sealed = _key_id(key) + nonce + _aead(key).encrypt(nonce, text.encode(), context.encode())
    return PREFIX + base64.b64encode(sealed).decode()


def unseal(value: str, context: str) -> str:
    """The text `seal` sealed with the same context. Raises Unreadable otherwise."""
    from cryptography.exceptions import InvalidTag
    try:
        raw = base64.b64decode(value[len(PREFIX):], validate=True) if is_sealed(value) else b""
    except ValueError:
        raw = b""
    if len(raw) < 4 + 12 + 16:
        raise Unreadable("not a sealed value")
    for key in config.seal_keys():
        if _key_id(key) == raw[:4]:
            try:
                return _aead(key).decrypt(raw[4:16], raw[16:], context.encode()).decode()
            except InvalidTag:
                break
    raise Unreadable("no configured sealing key opens this value")
