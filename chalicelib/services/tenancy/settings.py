"""A project's settings: `PATCH /v1/auth/project` changes them, `GET /v1/auth/me` and the PATCH
show them. Each setting is a field of the project item, owned by the module that uses it, which
gives three functions: `view(project)` (the value shown, defaults included), `merged(project,
value)` (the value to store, checked, over the current one: raises InvalidInput naming the
field) and `forget(project_id)` (drop what this instance cached of it); and, if a value needs
work done before it is stored, `prepare(project_id, project, value)` (signatures: v1a's first
key pair). A new setting is one line in SETTINGS (and its field in chalicelib/openapi.json's
ProjectSettings)."""
from ...aws import keys, store
from ...core import validation
from ...core.errors import Conflict, InvalidInput
from . import retention, signature_keys

SETTINGS = {"retention_days": retention, "signatures": signature_keys}
TRIES = 4   # a PATCH that raced another re-reads the project and merges again


def view(project: dict) -> dict:
    return {name: owner.view(project) for name, owner in SETTINGS.items()}


def current(project_id: str) -> dict:
    return view(store.get(*keys.project(project_id), consistent=False) or {})


def update(project_id: str, body: dict) -> dict:
    """Every setting the body names, checked before any is stored, then stored in one write.
    A concurrent PATCH of another part of the same setting (`succeeded` here, `failed` there)
    is not lost: the write holds only if the settings are still as read, else it merges again."""
    validation.reject_unknown(body, SETTINGS)
    if not body:
        raise InvalidInput("Send at least one setting to change, e.g. "
                           "{\"retention_days\": {\"succeeded\": 30, \"failed\": 90}}.")
    pk, sk = keys.project(project_id)
    for _ in range(TRIES):
        project = store.get(pk, sk) or {}
        changes = {name: SETTINGS[name].merged(project, value) for name, value in body.items()}
        for name, value in changes.items():   # every value checked first: a 400 changes nothing
            if hasattr(SETTINGS[name], "prepare"):
                SETTINGS[name].prepare(project_id, project, value)
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":was{i}": project[name] for i, name in enumerate(changes) if name in project}
        unchanged = " AND ".join(f"#f{i} = :was{i}" if name in project else f"attribute_not_exists(#f{i})"
                                 for i, name in enumerate(changes))
        try:
            saved = store.update(pk, sk, changes, condition=f"attribute_exists(pk) AND {unchanged}",
                                 names=names, values=values or None)
        except store.ConditionFailed:
            continue
        for name in changes:
            SETTINGS[name].forget(project_id)
        return view(saved)
    raise Conflict("The project's settings were changed by other requests meanwhile; try again.")
