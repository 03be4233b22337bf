"""Projects, their API keys and their signing secrets. Keys are stored only as SHA-256 hashes:
they carry 238 bits of randomness, so a fast hash is enough and a lookup is one GetItem."""
import hashlib
import re
import secrets as _secrets
import string
import threading
import time

from ...aws import keys, store
from ...core import at_rest, clock, ids, plans, scopes, signing, validation
from ...core.errors import Conflict, NotFound, Unauthorized
from . import counters

KEY_PREFIX = "ifr_pk_proj_"
KEY_RE = re.compile(r"ifr_pk_proj_[A-Za-z0-9]{32,64}")
_KEY_ALPHABET = string.ascii_letters + string.digits
AUTH_CACHE_SECONDS = 60          # how long a revoked key may still work on *other* API function instances
ROTATION_OVERLAP = 24 * 3600     # both secrets sign for this long after a rotation
MAX_KEY_NAME = 60
_cache: dict = {}
_cache_lock = threading.Lock()
HOW = "Send 'Authorization: Bearer ifr_pk_proj_…' (get a key with infra.activate() or POST /v1/auth/activate)."
EXPUNGED = ("This key's project was expunged: its keys were revoked. The expunge's report stays readable with "
            "this key at GET /v1/auth/project/expunge.")


def new_api_key() -> str:
    return KEY_PREFIX + "".join(_secrets.choice(_KEY_ALPHABET) for _ in range(40))


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def _key_items(project_id: str, api_key: str, key_id: str, now: float, grant: dict | None = None) -> list[dict]:
    """The key's hash record (what authenticate reads) and the project's record of it (what lists
    show). `grant`: its scopes, queues and name; a key without `scopes` is admin (core/scopes.py)."""
    kpk, ksk = keys.api_key(hash_key(api_key))
    ppk, _ = keys.project(project_id)
    shown = api_key[:16] + "…" + api_key[-4:]
    grant = {k: v for k, v in (grant or {}).items() if v is not None}
    return [{"pk": kpk, "sk": ksk, "project_id": project_id, "key_id": key_id, "created_at": now, **grant},
            {"pk": ppk, "sk": f"KEY#{key_id}", "project_id": project_id, "key_id": key_id,
             "key_hash": hash_key(api_key), "shown": shown, "created_at": now, **grant}]


def create_project(api_key: str | None = None, plan: str = "trial") -> dict:
    """A new project with one key and one signing secret, written together or not at all."""
    api_key = api_key or new_api_key()
    if not KEY_RE.fullmatch(api_key):
        raise ValueError("an API key is ifr_pk_proj_ followed by 32 to 64 letters and digits")
    now = clock.now()
    project_id = ids.new_id("proj")
    key_id = ids.new_id("key")
    pk, sk = keys.project(project_id)
    store.transact_put([
        {"pk": pk, "sk": sk, "project_id": project_id, "plan": plan, "created_at": now,
         "signing_secrets": [{"secret": _sealed(project_id, signing.new_secret()), "created_at": now}]},
        *_key_items(project_id, api_key, key_id, now),
        *counters.initial_counters(project_id, api_keys=1),
    ])
    return {"project_id": project_id, "api_key": api_key, "key_id": key_id, "plan": plan,
            "limits": plans.limits(plan)}


def ensure_project_for_key(api_key: str, plan: str = "unlimited") -> str:
    """The local stack's pinned key: reuse its project if the key is known, else create one
    (also when its project was expunged: the key's tombstone gives way to the new project)."""
    found = store.get(*keys.api_key(hash_key(api_key)))
    if found and not found.get("expunged_at"):
        return found["project_id"]
    if found:
        store.delete(*keys.api_key(hash_key(api_key)))
        with _cache_lock:
            _cache.pop(hash_key(api_key), None)
    return create_project(api_key, plan)["project_id"]


def activation_for_key(api_key: str) -> dict:
    """What activation answers for an existing key (the local stack's own project)."""
    found = store.get(*keys.api_key(hash_key(api_key)))
    if not found or found.get("revoked_at"):
        raise Unauthorized("The local stack's API key is unknown or revoked; restart `make run`.")
    plan_name = project(found["project_id"]).get("plan", "trial")
    return {"project_id": found["project_id"], "api_key": api_key, "key_id": found["key_id"],
            "plan": plan_name, "limits": plans.limits(plan_name)}


def authenticate(authorization: str | None) -> str:
    """The project behind an `Authorization: Bearer ifr_pk_proj_…` header, or Unauthorized."""
    return caller(authorization)["project_id"]


def caller(authorization: str | None) -> dict:
    """Who a request's key is: {project_id, key_id, scopes, queues} (scopes None: an admin key
    made before scopes), or Unauthorized. Cached per instance: a key's grant never changes (a
    new grant is a new key), and a revoke on this instance is seen at once (`_forget`)."""
    digest = _digest(authorization)
    with _cache_lock:
        hit = _cache.get(digest)
    if hit and hit[1] > time.monotonic():
        if hit[0] is None:
            raise Unauthorized(hit[2], field="Authorization")
        return hit[0]
    found = store.get(*keys.api_key(digest), consistent=False)
    if found and found.get("expunged_at"):
        raise Unauthorized(EXPUNGED, field="Authorization")
    if not found or found.get("revoked_at"):
        raise Unauthorized("Unknown or revoked API key. " + HOW, field="Authorization")
    who = _who(found)
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[digest] = (who, time.monotonic() + AUTH_CACHE_SECONDS)
    return who


def _who(found: dict) -> dict:
    return {"project_id": found["project_id"], "key_id": found.get("key_id"),
            "scopes": found.get("scopes"), "queues": found.get("queues")}


def _digest(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("No API key. " + HOW, field="Authorization")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not KEY_RE.fullmatch(token):
        raise Unauthorized("Malformed API key: expected 'Bearer ' then ifr_pk_proj_ and 32 to 64 letters "
                           "or digits. " + HOW, field="Authorization")
    return hash_key(token)


def authenticate_expunged(authorization: str | None) -> str:
    """The project behind a key, also when the key was retired by its project's expunge: only
    the expunge's own routes take such a key (its report outlives the project)."""
    return caller_expunged(authorization)["project_id"]


def caller_expunged(authorization: str | None) -> dict:
    """`caller`, also for a key retired by its project's expunge (see authenticate_expunged)."""
    try:
        return caller(authorization)
    except Unauthorized:
        found = store.get(*keys.api_key(_digest(authorization)))
        if found and found.get("expunged_at") and found.get("ttl", 0) > clock.now():
            return _who(found)
        raise


def retire_key(project_id: str, key_item: dict, until: float) -> bool:
    """An expunge's end of one key (`key_item`: the project's KEY#<key_id> record): revoked if it
    was active, marked expunged (it then reads the expunge report, and nothing else), and
    expiring at `until` (DynamoDB's TTL). A key revoked before the expunge only expires. Safe to
    repeat; False if the key's own record is already gone."""
    pk, sk = keys.api_key(key_item["key_hash"])
    now = clock.now()
    try:
        store.update(pk, sk, {"revoked_at": now, "expunged_at": now, "ttl": int(until)},
                     condition="project_id = :p AND attribute_not_exists(revoked_at)", values={":p": project_id})
    except store.ConditionFailed:
        try:
            store.update(pk, sk, {"ttl": int(until)}, condition="project_id = :p", values={":p": project_id})
        except store.ConditionFailed:
            return False
    _forget(key_item["key_hash"], EXPUNGED)
    return True


def _forget(key_hash: str, why: str | None = None) -> None:
    """This instance refuses the key from now on, even before DynamoDB's replicas all agree
    (authenticate reads are eventually consistent). Other instances: within AUTH_CACHE_SECONDS."""
    with _cache_lock:
        _cache[key_hash] = (None, time.monotonic() + AUTH_CACHE_SECONDS, why or "Unknown or revoked API key. " + HOW)


def forget_cached_keys() -> None:
    with _cache_lock:
        _cache.clear()


def project(project_id: str) -> dict:
    return store.get(*keys.project(project_id), consistent=False) or {}


def plan(project_id: str) -> str:
    """The project's plan, cached like keys (plans change rarely; a GetItem per request adds up)."""
    with _cache_lock:
        hit = _cache.get(("plan", project_id))
    if hit and hit[1] > time.monotonic():
        return hit[0]
    value = project(project_id).get("plan", "trial")
    with _cache_lock:
        _cache[("plan", project_id)] = (value, time.monotonic() + AUTH_CACHE_SECONDS)
    return value


def me(project_id: str) -> dict:
    p = project(project_id)
    return {"project_id": project_id, "plan": p.get("plan"), "limits": plans.limits(p.get("plan", "trial")),
            "created_at": clock.rfc3339(p.get("created_at")), "keys": list_keys(project_id)["keys"]}


def list_keys(project_id: str) -> dict:
    """Every key of the project, revoked ones too, oldest first: never the key itself, only its
    shortened form, and what it may do."""
    items, _ = store.query_page(None, keys.project(project_id)[0], limit=100, cursor=None, sk_prefix="KEY#",
                                newest_first=False)
    return {"keys": [{"key_id": k["key_id"], "key": k["shown"], "name": k.get("name"),
                      "scopes": k.get("scopes") or [scopes.ADMIN], "queues": k.get("queues"),
                      "created_at": clock.rfc3339(k["created_at"]), "revoked_at": clock.rfc3339(k.get("revoked_at"))}
                     for k in items]}


def _active_keys(project_id: str) -> int:
    return sum(1 for k in me(project_id)["keys"] if not k["revoked_at"])


def check_grant(body: dict, queue_name) -> dict:
    """What a new key may do, from `POST /v1/auth/keys`'s body: {scopes, queues, name}, checked."""
    validation.reject_unknown(body, ("scopes", "queues", "name", "idempotency_key"))
    granted, queues = scopes.check(body, queue_name)
    name = validation.string(body, "name", required=False, max_len=MAX_KEY_NAME)
    return {"scopes": granted, "queues": queues, "name": validation.printable(name, "name") if name else None}


def add_key(project_id: str, grant: dict | None = None) -> dict:
    """A new key, taken from the plan's limit in the same transaction that stores it. `grant`
    (check_grant): its scopes, queues and name; none: an admin key."""
    api_key, key_id, now = new_api_key(), ids.new_id("key"), clock.now()
    grant = grant or {"scopes": [scopes.ADMIN]}
    cap = plans.limits(plan(project_id))["api_keys"]
    try:
        counters.write(project_id, "api_keys", counters.claim(project_id, "api_keys", cap),
                       [{"put": item, "condition": "attribute_not_exists(pk)"}
                        for item in _key_items(project_id, api_key, key_id, now, grant)]
                       # no new key once an expunge has begun: it would outlive the project
                       + [{"check": keys.project(project_id), "condition": "attribute_not_exists(expunging_at)"}],
                       lambda: _active_keys(project_id))
    except store.ConditionFailed:
        raise Conflict("This project is being expunged: no new key can be made.") from None
    return {"key_id": key_id, "api_key": api_key, "created_at": clock.rfc3339(now), "name": grant.get("name"),
            "scopes": grant["scopes"], "queues": grant.get("queues")}


def revoke_key(project_id: str, key_id: str) -> dict:
    ppk, _ = keys.project(project_id)
    meta = store.get(ppk, f"KEY#{key_id}") if ids.is_id(key_id, "key") else None
    if not meta:
        raise NotFound(f"No API key '{str(key_id)[:64]}' in this project; see GET /v1/auth/me.", field="key_id")
    if not meta.get("revoked_at"):
        # One transaction: both records marked, the count given back, and never the last key
        # (two concurrent revokes of a project's last two keys cannot both pass).
        now = clock.now()
        revoke = {"expression": "SET revoked_at = :now", "values": {":now": now},
                  "condition": "attribute_not_exists(revoked_at)"}
        try:
            counters.write(project_id, "api_keys", counters.give_back(project_id, "api_keys", keep=1),
                           [{"update": keys.api_key(meta["key_hash"]), **revoke},
                            {"update": (ppk, f"KEY#{key_id}"), **revoke}], lambda: _active_keys(project_id))
        except Conflict:
            raise Conflict("This is the project's last active key; create another before revoking it.",
                           field="key_id") from None
        except store.ConditionFailed:
            pass   # revoked by a concurrent request
        _forget(meta["key_hash"])
        meta = store.get(ppk, f"KEY#{key_id}")
    return {"key_id": key_id, "revoked_at": clock.rfc3339(meta["revoked_at"])}


def live(entries, now: float) -> list:
    """The entries (signing secrets or v1a key pairs) that sign at `now`: the current one, plus
    the previous one while a rotation is in its overlap window."""
    return [e for e in entries or [] if e.get("expires_at") is None or e["expires_at"] > now]


def signing_secrets(project_id: str) -> list[str]:
    """Every secret a delivery is signed with now."""
    return secrets_of(project_id, live(project(project_id).get("signing_secrets"), clock.now()))


def secrets_of(project_id: str, entries) -> list[str]:
    """The `whsec_` secrets of these entries, in clear. They are stored sealed (core/at_rest.py):
    whoever reads the table cannot sign webhooks. A project made before that has its own in clear
    until its next rotation."""
    return [at_rest.unseal(e["secret"], _context(project_id)) if at_rest.is_sealed(e["secret"]) else e["secret"]
            for e in entries]


def _sealed(project_id: str, secret: str) -> str:
    return at_rest.seal(secret, _context(project_id))


def _context(project_id: str) -> str:
    return f"{project_id}:signing_secret"


def current_secret(project_id: str) -> str:
    return signing_secrets(project_id)[0]


def rotate_secret(project_id: str) -> dict:
    """A new current secret; the old one keeps signing for 24 h. One rotation at a time: a
    second rotation inside the window is refused, so no receiver is ever two secrets behind."""
    p = project(project_id)
    now = clock.now()
    live = [s for s in p.get("signing_secrets", []) if s.get("expires_at") is None or s["expires_at"] > now]
    pending = [s for s in live if s.get("expires_at")]
    if pending:
        raise Conflict("A rotation is already in progress: the previous secret is still accepted until "
                       f"{clock.rfc3339(pending[0]['expires_at'])}. Rotate again after that.",
                       field="secret", previous_secret_expires_at=clock.rfc3339(pending[0]["expires_at"]))
    clear = signing.new_secret()
    fresh = {"secret": _sealed(project_id, clear), "created_at": now}
    old = {**live[0], "expires_at": now + ROTATION_OVERLAP}
    pk, sk = keys.project(project_id)
    try:
        store.update(pk, sk, {"signing_secrets": [fresh, old]}, condition="signing_secrets = :was",
                     values={":was": p["signing_secrets"]})
    except store.ConditionFailed:
        raise Conflict("The secret was rotated by another request just now; read it again.", field="secret")
    return {"secret": clear, "previous_secret_expires_at": clock.rfc3339(old["expires_at"])}
