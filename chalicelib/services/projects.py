"""Projects, their API keys and their signing secrets. Keys are stored only as SHA-256 hashes:
they carry 238 bits of randomness, so a fast hash is enough and a lookup is one GetItem."""
import hashlib
import re
import secrets as _secrets
import string

from ..aws import keys, store
from ..core import clock, ids, signing
from ..core.errors import Unauthorized

KEY_PREFIX = "ifr_pk_proj_"
KEY_RE = re.compile(r"^ifr_pk_proj_[A-Za-z0-9]{32,64}$")
_KEY_ALPHABET = string.ascii_letters + string.digits


def new_api_key() -> str:
    return KEY_PREFIX + "".join(_secrets.choice(_KEY_ALPHABET) for _ in range(40))


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_project(api_key: str | None = None, plan: str = "trial") -> dict:
    """A new project with one key and one signing secret, written together or not at all."""
    api_key = api_key or new_api_key()
    if not KEY_RE.match(api_key):
        raise ValueError("an API key is ifr_pk_proj_ followed by 32 to 64 letters and digits")
    now = clock.now()
    project_id = ids.new_id("proj")
    key_id = ids.new_id("key")
    pk, sk = keys.project(project_id)
    kpk, ksk = keys.api_key(hash_key(api_key))
    store.transact_put([
        {"pk": pk, "sk": sk, "project_id": project_id, "plan": plan, "created_at": now,
         "signing_secrets": [{"secret": signing.new_secret(), "created_at": now}]},
        {"pk": kpk, "sk": ksk, "project_id": project_id, "key_id": key_id, "created_at": now},
    ])
    return {"project_id": project_id, "api_key": api_key, "key_id": key_id, "plan": plan}


def ensure_project_for_key(api_key: str) -> str:
    """The local stack's pinned key: reuse its project if the key is known, else create one."""
    found = store.get(*keys.api_key(hash_key(api_key)))
    if found:
        return found["project_id"]
    return create_project(api_key)["project_id"]


def authenticate(authorization: str | None) -> str:
    """The project behind an `Authorization: Bearer ifr_pk_proj_…` header, or Unauthorized."""
    how = "Send 'Authorization: Bearer ifr_pk_proj_…' (get a key with infra.activate() or POST /v1/auth/activate)."
    if not authorization:
        raise Unauthorized("No API key. " + how)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not KEY_RE.match(token):
        raise Unauthorized("Malformed API key. " + how)
    found = store.get(*keys.api_key(hash_key(token)), consistent=False)
    if not found or found.get("revoked_at"):
        raise Unauthorized("Unknown or revoked API key. " + how)
    return found["project_id"]


def signing_secrets(project_id: str) -> list[str]:
    """Every secret a delivery is signed with now: the current one, plus the previous one
    while a rotation is in its overlap window."""
    project = store.get(*keys.project(project_id), consistent=False) or {}
    now = clock.now()
    return [s["secret"] for s in project.get("signing_secrets", [])
            if s.get("expires_at") is None or s["expires_at"] > now]


def current_secret(project_id: str) -> str:
    return signing_secrets(project_id)[0]
