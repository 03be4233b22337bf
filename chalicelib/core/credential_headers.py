"""Custom headers that carry credentials (Authorization, Cookie, X-Api-Key, *-Token, *-Secret ...)
are stored sealed (core/at_rest.py) and shown masked (`••••1234`): every key of a project can read
a delivery, and a receiver's credential is not theirs to copy. Other headers stay in clear. A
record stored before this (its credential headers in clear) still sends them as they are."""
from . import at_rest

EXACT = {"authorization", "proxy-authorization", "cookie", "apikey", "api-key", "x-api-key", "x-auth"}
PARTS = ("key", "token", "secret", "password", "passwd", "credential", "session", "signature", "auth")
MASK = "••••"
SHOWN = 4          # last characters shown ...
SHOWN_FROM = 12    # ... of a value at least this long (of a shorter one, none)


def is_credential(name: str) -> bool:
    low = name.lower()
    return low in EXACT or any(part in low for part in PARTS)


def _context(project_id: str, name: str) -> str:
    return f"{project_id}:header.{name.lower()}"


def sealed(headers: dict, project_id: str) -> dict:
    """Headers as stored: credential values sealed."""
    return {k: at_rest.seal(v, _context(project_id, k)) if is_credential(k) and not at_rest.is_sealed(v) else v
            for k, v in (headers or {}).items()}


def clear(headers: dict, project_id: str) -> dict:
    """Headers as sent: sealed values opened (a clear value, stored before sealing, as it is)."""
    return {k: at_rest.unseal(v, _context(project_id, k)) if at_rest.is_sealed(v) else v
            for k, v in (headers or {}).items()}


def mask(value: str) -> str:
    return MASK + (value[-SHOWN:] if len(value) >= SHOWN_FROM else "")


def masked(headers: dict, project_id: str) -> dict:
    """Headers as shown: credential values masked, sealed or not (an old clear record too)."""
    out = {}
    for k, v in (headers or {}).items():
        if at_rest.is_sealed(v) or is_credential(k):
            try:
                v = mask(at_rest.unseal(v, _context(project_id, k)) if at_rest.is_sealed(v) else v)
            except at_rest.Unreadable:
                v = MASK
        out[k] = v
    return out
