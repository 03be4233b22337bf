"""What an API key may do (docs/security.md#scopes). Each route declares the one scope it needs
(chalicelib/api/http.py `route(..., scope=...)`); a key holds a list of scopes, and optionally
the queue names it may publish to.

The scopes do not imply one another, except `admin`, which holds them all: a key that should
list cron jobs and change them holds ["read", "manage"]. Keys made before scopes existed hold no
list and are `admin`, so nothing that worked stops working."""
from .errors import Forbidden, InvalidInput

READ, PUBLISH, MANAGE, ADMIN = "read", "publish", "manage", "admin"
SCOPES = (READ, PUBLISH, MANAGE, ADMIN)
PUBLIC = "public"                      # a route that takes no key (health, the spec, activation)
ROUTE_SCOPES = (PUBLIC, *SCOPES)
WHAT = {READ: "read anything of the project (GET routes, the audit log)",
        PUBLISH: "publish to queues (one or a batch), send webhooks, retry a delivery",
        MANAGE: "change cron jobs, queues, flows, endpoints, the events endpoint; replay and cancel",
        ADMIN: "everything: keys, the signing secret, project settings, expunge"}
MAX_QUEUES = 50


def check(body: dict, queue_name) -> tuple[list[str], list[str] | None]:
    """`scopes` and `queues` of a new key, checked (`queue_name(name, field)` checks one name).
    No `scopes`: the key is admin, as every key was before scopes."""
    raw = body.get("scopes", [ADMIN])
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise InvalidInput(f"'scopes' must be a non-empty list of: {', '.join(SCOPES)}, "
                           "e.g. [\"read\", \"publish\"].", field="scopes")
    unknown = [s for s in raw if s not in SCOPES]
    if unknown:
        raise InvalidInput(f"Unknown scope '{unknown[0][:40]}'; the scopes are: {', '.join(SCOPES)}.",
                           field="scopes")
    if len(set(raw)) != len(raw):
        raise InvalidInput("'scopes' names a scope twice; list each once.", field="scopes")
    scopes = [s for s in SCOPES if s in raw]   # one order
    queues = body.get("queues")
    if queues is None:
        return scopes, None
    if not isinstance(queues, list) or not 1 <= len(queues) <= MAX_QUEUES:
        raise InvalidInput(f"'queues' must be a list of 1 to {MAX_QUEUES} queue names the key may publish "
                           "to; omit it to allow every queue.", field="queues")
    if not grants(scopes, PUBLISH):
        raise InvalidInput("'queues' limits where the key may publish: add \"publish\" to 'scopes', "
                           "or omit 'queues'.", field="queues")
    names = [queue_name(q, f"queues[{i}]") for i, q in enumerate(queues)]
    return scopes, list(dict.fromkeys(names))


def grants(scopes: list[str] | None, needed: str) -> bool:
    held = scopes if scopes is not None else [ADMIN]
    return needed == PUBLIC or ADMIN in held or needed in held


def require(scopes: list[str] | None, needed: str) -> None:
    """Forbidden (403) naming the missing scope and how to get a key that holds it."""
    if not grants(scopes, needed):
        raise Forbidden(f"This API key lacks the '{needed}' scope ({WHAT[needed]}); it holds: "
                        f"{', '.join(scopes or []) or 'none'}. Use a key with '{needed}' or 'admin', or have an "
                        f"admin key create one: POST /v1/auth/keys {{\"scopes\": [\"{needed}\"]}}.",
                        field=None, missing_scope=needed)


def require_queues(allowed: list[str] | None, names: list[tuple[str, str]]) -> None:
    """`names`: (field, queue name) of a publish. Forbidden naming the first queue the key may not
    publish to; a key without a queue list publishes anywhere. A name that is not a string is left
    to the publish's own checks (a 400 naming the field)."""
    if allowed is None:
        return
    for field, name in names:
        if isinstance(name, str) and name not in allowed:
            raise Forbidden(f"This API key's 'publish' scope covers only the queues {', '.join(allowed)}, not "
                            f"'{str(name)[:80]}'. Use a key whose 'queues' include it, or have an admin key create "
                            "one: POST /v1/auth/keys {\"scopes\": [\"publish\"], \"queues\": [...]}.",
                            field=field, missing_scope=PUBLISH)


def require_unrestricted(allowed: list[str] | None) -> None:
    """A key limited to some queues publishes to those only: no webhook send, no retry."""
    if allowed is not None:
        raise Forbidden(f"This API key's 'publish' scope covers only the queues {', '.join(allowed)}: sending "
                        "webhooks and retrying deliveries need a 'publish' key without 'queues'. Have an admin key "
                        "create one: POST /v1/auth/keys {\"scopes\": [\"publish\"]}.",
                        field=None, missing_scope=PUBLISH)
