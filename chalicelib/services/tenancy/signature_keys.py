"""Which signatures a project's deliveries carry, and its Ed25519 key pairs (Standard Webhooks v1a).

The setting `signatures` (PATCH /v1/auth/project, shown by GET /v1/auth/me): ["v1"], the default,
HMAC with the shared `whsec_` secret; ["v1", "v1a"] while receivers move to the public key (both
signatures side by side in `webhook-signature`); ["v1a"] once they have, so nobody who holds the
shared secret can forge a delivery any more.

A key pair is made when v1a is first turned on, not with the project: a project that never uses
v1a carries no key and never pays for Ed25519, and projects made before v1a existed take the same
single path. The project item keeps its pairs in `signing_key_pairs`, newest first, the secret
key sealed at rest (core/at_rest.py, bound to the project and the key's id); only the public key
is ever shown. A rotation mirrors the secret's (projects.rotate_secret): the new key signs at once,
the old one keeps signing beside it for projects.ROTATION_OVERLAP, one rotation at a time."""
import logging

from ...aws import keys, store
from ...core import at_rest, clock, ids, signing
from ...core.errors import Conflict, InvalidInput
from . import projects

log = logging.getLogger(__name__)

SCHEMES = ("v1", "v1a")
DEFAULT = ["v1"]
FIELD = "signing_key_pairs"
EXAMPLE = '{"signatures": ["v1", "v1a"]}'


# -- the `signatures` setting (services/tenancy/settings.py) --------------------------------------

def view(project: dict) -> list:
    return list(project.get("signatures") or DEFAULT)


def check(value) -> list:
    """A `signatures` list from a request, checked: one or both of v1, v1a, each once."""
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"'signatures' must be a list of one or both of \"v1\" and \"v1a\", e.g. {EXAMPLE}.",
                           field="signatures")
    for i, scheme in enumerate(value):
        if scheme not in SCHEMES:
            raise InvalidInput(f"'signatures[{i}]' must be \"v1\" (HMAC with the whsec_ secret) or \"v1a\" "
                               f"(Ed25519, verified with a whpk_ public key).", field=f"signatures[{i}]")
    if len(set(value)) != len(value):
        raise InvalidInput(f"'signatures' names a scheme twice; name each once, e.g. {EXAMPLE}.", field="signatures")
    return [s for s in SCHEMES if s in value]


def merged(project: dict, value) -> list:
    return check(value)


def prepare(project_id: str, project: dict, value: list) -> None:
    """Turning v1a on makes the project's first key pair, before the setting is stored, so no
    delivery is ever meant to carry v1a without a key to make it."""
    if "v1a" not in value or projects.live(project.get(FIELD), clock.now()):
        return
    pk, sk = keys.project(project_id)
    try:
        store.update(pk, sk, {FIELD: [_new_pair(project_id)]},
                     condition="attribute_exists(pk) AND attribute_not_exists(#kp)", names={"#kp": FIELD})
    except store.ConditionFailed:
        pass   # made by a concurrent request: one pair either way


def forget(project_id: str) -> None:
    """Nothing cached: the deliver function reads the project once per batch (signer)."""


# -- key pairs ------------------------------------------------------------------------------------

def _context(project_id: str, key_id: str) -> str:
    return f"{project_id}:{FIELD}:{key_id}"


def _new_pair(project_id: str) -> dict:
    now = clock.now()
    key_id = ids.new_id("whk", now)
    secret_key, public_key = signing.new_key_pair()
    return {"key_id": key_id, "public_key": public_key, "created_at": now,
            "secret_key": at_rest.seal(secret_key, _context(project_id, key_id))}


def _shown(pair: dict) -> dict:
    return {"key_id": pair["key_id"], "public_key": pair["public_key"],
            "created_at": clock.rfc3339(pair["created_at"]), "expires_at": clock.rfc3339(pair.get("expires_at"))}


def public_keys(project_id: str) -> dict:
    """The public keys receivers may verify v1a with now, newest first (two during a rotation)."""
    pairs = projects.live(projects.project(project_id).get(FIELD), clock.now())
    return {"keys": [_shown(p) for p in pairs]}


def rotate(project_id: str) -> dict:
    """A new key pair signs from now; the old one keeps signing beside it for the overlap window."""
    pk, sk = keys.project(project_id)
    project = store.get(pk, sk) or {}
    now = clock.now()
    live = projects.live(project.get(FIELD), now)
    if not live:
        raise Conflict(f"This project has no v1a key pair yet: turn v1a on with PATCH /v1/auth/project "
                       f"{EXAMPLE}, which makes one.", field="signatures")
    pending = [p for p in live if p.get("expires_at")]
    if pending:
        raise Conflict("A rotation is already in progress: the previous key still signs until "
                       f"{clock.rfc3339(pending[0]['expires_at'])}. Rotate again after that.",
                       field="public_key", previous_key_expires_at=clock.rfc3339(pending[0]["expires_at"]))
    fresh, old = _new_pair(project_id), {**live[0], "expires_at": now + projects.ROTATION_OVERLAP}
    try:
        store.update(pk, sk, {FIELD: [fresh, old]}, condition="#kp = :was", names={"#kp": FIELD},
                     values={":was": project[FIELD]})
    except store.ConditionFailed:
        raise Conflict("The key pair was rotated by another request just now; read the keys again.",
                       field="public_key") from None
    return {**_shown(fresh), "previous_key_expires_at": clock.rfc3339(old["expires_at"])}


# -- the deliver path -----------------------------------------------------------------------------

def signer(project_id: str) -> signing.Signer:
    """What the project's deliveries are signed with now, from one read of the project. A v1a key
    that cannot be unsealed (a stage whose INFRAI_SEAL_KEY changed) is logged and left out; a
    delivery that would then carry no signature at all is signed v1, never sent unsigned."""
    project, now = projects.project(project_id), clock.now()
    chosen = view(project)
    secret_keys = []
    if "v1a" in chosen:
        for pair in projects.live(project.get(FIELD), now):
            try:
                secret_keys.append(at_rest.unseal(pair["secret_key"], _context(project_id, pair["key_id"])))
            except at_rest.Unreadable:
                log.error("v1a key %s of project %s cannot be unsealed: check INFRAI_SEAL_KEY",
                          pair["key_id"], project_id)
    secrets = []
    if "v1" in chosen or not secret_keys:
        secrets = projects.secrets_of(project_id, projects.live(project.get("signing_secrets"), now))
    return signing.Signer(tuple(secrets), tuple(secret_keys))
