"""How a delivery proves who sends it to a receiver that asks more than a signature: the `auth`
object of a webhook send, a queue and a cron job (docs/endpoint-auth.md).

    {"type": "oauth2_client_credentials", "token_url", "client_id", "client_secret",
     "scope"?, "audience"?, "client_authentication"?: "basic" | "body"}
    {"type": "mtls", "certificate", "private_key"}            (PEM; the key unencrypted)

`check` validates one (a PEM that does not parse, a key that is not the certificate's, an
expired certificate: 400) and returns what is stored: the client secret and the private key
sealed (core/at_rest.py), under a context naming the project and the field. `view` is what the
API shows: never a secret, only what identifies the credential. The token URL's SSRF check is
the producers' (services/delivery/options.py), like every other URL's."""
import hashlib
from datetime import datetime, timezone

from . import at_rest, clock, validation
from .errors import InvalidInput

OAUTH2 = "oauth2_client_credentials"
MTLS = "mtls"
TYPES = (OAUTH2, MTLS)
OAUTH2_FIELDS = ("type", "token_url", "client_id", "client_secret", "scope", "audience", "client_authentication")
MTLS_FIELDS = ("type", "certificate", "private_key")
CLIENT_AUTHENTICATION = ("basic", "body")
MAX_PEM = 16 * 1024
SECRET_FIELDS = {OAUTH2: "client_secret", MTLS: "private_key"}


def context(project_id: str, auth_type: str) -> str:
    """What a sealed secret of this project's `auth` is bound to (at_rest's associated data)."""
    return f"{project_id}:auth.{SECRET_FIELDS[auth_type]}"


def check(value, project_id: str, field: str = "auth") -> dict | None:
    """The stored form of an `auth` object (None for null). Raises InvalidInput naming the field."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in TYPES:
        raise InvalidInput(f"'{field}' must be an object whose 'type' is one of: {', '.join(TYPES)} "
                           f"(docs/endpoint-auth.md), or null for none.", field=f"{field}.type")
    allowed = OAUTH2_FIELDS if value["type"] == OAUTH2 else MTLS_FIELDS
    extra = sorted(set(value) - set(allowed))
    if extra:
        raise InvalidInput(f"Unknown field '{field}.{extra[0]}'; a {value['type']} auth accepts: "
                           f"{', '.join(allowed)}.", field=f"{field}.{extra[0]}")
    return _oauth2(value, project_id, field) if value["type"] == OAUTH2 else _mtls(value, project_id, field)


def _text(value: dict, name: str, field: str, *, required=True, max_len=1024, pem=False) -> str | None:
    try:
        text = validation.string(value, name, required=required, max_len=max_len)
    except InvalidInput as e:
        raise InvalidInput(e.message.replace(f"'{name}'", f"'{field}.{name}'"), field=f"{field}.{name}")
    if text is not None and not pem and any(ord(c) < 0x20 or ord(c) == 0x7f for c in text):
        raise InvalidInput(f"'{field}.{name}' holds a control character; remove it.", field=f"{field}.{name}")
    return text


def _oauth2(value: dict, project_id: str, field: str) -> dict:
    _text(value, "token_url", field, max_len=2048)
    out = {"type": OAUTH2, "token_url": value["token_url"], "client_id": _text(value, "client_id", field, max_len=512)}
    secret = _text(value, "client_secret", field, max_len=4096)
    for name, longest in (("scope", 1024), ("audience", 2048)):   # an audience is often a URL
        if value.get(name) is not None:
            out[name] = _text(value, name, field, max_len=longest)
    method = value.get("client_authentication", "basic")
    if method not in CLIENT_AUTHENTICATION:
        raise InvalidInput(f"'{field}.client_authentication' must be 'basic' (HTTP Basic, the default) or 'body' "
                           "(client_id and client_secret as form fields), as the token server expects.",
                           field=f"{field}.client_authentication")
    if method != "basic":
        out["client_authentication"] = method
    out["client_secret"] = at_rest.seal(secret, context(project_id, OAUTH2))
    return out


def _mtls(value: dict, project_id: str, field: str) -> dict:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    cert_pem = _text(value, "certificate", field, max_len=MAX_PEM, pem=True)
    key_pem = _text(value, "private_key", field, max_len=MAX_PEM, pem=True)
    try:
        chain = x509.load_pem_x509_certificates(cert_pem.encode())
    except ValueError:
        raise InvalidInput(f"'{field}.certificate' is not a PEM certificate (-----BEGIN CERTIFICATE-----...); "
                           "send the client certificate, optionally followed by its intermediates.",
                           field=f"{field}.certificate")
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:
        raise InvalidInput(f"'{field}.private_key' is encrypted; send it unencrypted (it is sealed at rest here), "
                           "e.g. `openssl pkey -in key.pem -out plain.pem`.", field=f"{field}.private_key")
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidInput(f"'{field}.private_key' is not a PEM private key (-----BEGIN PRIVATE KEY-----...).",
                           field=f"{field}.private_key")
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != chain[0].public_key().public_bytes(*spki):
        raise InvalidInput(f"'{field}.private_key' is not the key of '{field}.certificate' (their public keys "
                           "differ); send the certificate's own key.", field=f"{field}.private_key")
    expires = chain[0].not_valid_after_utc
    if expires <= datetime.now(timezone.utc):
        raise InvalidInput(f"'{field}.certificate' expired on {expires.isoformat()}; renew it.",
                           field=f"{field}.certificate")
    clean_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
    return {"type": MTLS,
            "certificate": "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain),
            "private_key": at_rest.seal(clean_key, context(project_id, MTLS)),
            "fingerprint": hashlib.sha256(chain[0].public_bytes(serialization.Encoding.DER)).hexdigest(),
            "subject": chain[0].subject.rfc4514_string()[:256],
            "expires_at": int(expires.timestamp())}


def requires_https(auth: dict | None, url: str | None, field: str = "auth") -> None:
    """A client certificate is presented only in a TLS handshake: mTLS needs an https URL."""
    if auth and auth["type"] == MTLS and url and not url.lower().startswith("https://"):
        raise InvalidInput("An mtls 'auth' needs an https:// URL: a client certificate is presented only in a "
                           "TLS handshake.", field=field)


def secret(auth: dict, project_id: str) -> str:
    """The clear client secret or private key of a stored `auth` (at_rest.Unreadable if it will not open)."""
    return at_rest.unseal(auth[SECRET_FIELDS[auth["type"]]], context(project_id, auth["type"]))


def view(auth: dict | None) -> dict | None:
    """What the API shows of a stored `auth`: never the secret."""
    if not auth:
        return None
    if auth["type"] == OAUTH2:
        return {k: auth[k] for k in ("type", "token_url", "client_id", "scope", "audience", "client_authentication")
                if auth.get(k) is not None}
    return {"type": MTLS, "certificate_sha256": auth["fingerprint"], "certificate_subject": auth["subject"],
            "certificate_expires_at": clock.rfc3339(auth["expires_at"])}
