"""Secrets in stored responses, sealed. The idempotency layer keeps each POST's response for 24 h
so a retry gets the same answer; a response that carries a new API key or signing secret must
not sit there in clear. Its secret fields are sealed with AES-GCM under a key derived (HKDF) from
the request's own Idempotency-Key, which is never stored (Powertools keeps only a hash of it): the
caller who retries with the same key gets the secret back; a reader of the table gets ciphertext.
Such requests need a long (random) Idempotency-Key, as the SDKs send: a guessable one would be
a guessable secret."""
import base64
import os

from .errors import InvalidInput

MIN_KEY_LENGTH = 32
SEALED = "sealed:"


def check_key(idem_key: str) -> None:
    if len(idem_key) < MIN_KEY_LENGTH:
        raise InvalidInput(f"This request returns a new secret: its Idempotency-Key must be at least "
                           f"{MIN_KEY_LENGTH} random characters (e.g. a UUID), or be left out.",
                           field="idempotency_key")


def _aead(idem_key: str, context: str):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"infrai-idempotency-seal",
               info=context.encode()).derive(idem_key.encode("utf-8", "replace"))
    return AESGCM(key)


def seal(response: dict, fields, idem_key: str, context: str) -> dict:
    """`response` with each of `fields` replaced by its ciphertext."""
    out = dict(response)
    aead = _aead(idem_key, context)
    for name in fields:
        if isinstance(out.get(name), str):
            nonce = os.urandom(12)
            sealed = nonce + aead.encrypt(nonce, out[name].encode(), name.encode())
            out[name] = SEALED + base64.b64encode(sealed).decode()
    return out


def unseal(response: dict, fields, idem_key: str, context: str) -> dict:
    out = dict(response)
    aead = None
    for name in fields:
        value = out.get(name)
        if isinstance(value, str) and value.startswith(SEALED):
            aead = aead or _aead(idem_key, context)
            raw = base64.b64decode(value[len(SEALED):])
            out[name] = aead.decrypt(raw[:12], raw[12:], name.encode()).decode()
    return out
