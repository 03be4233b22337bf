"""Event types: declared names a publish may carry (`order.paid`), listed for subscribers to
choose from, each with an optional `schema` (core/payload_schemas.py) that a published payload
must fit (400 otherwise). Declaring is optional: a publish may carry an undeclared type."""
import json

from ...aws import keys, store
from ...core import clock, payload_schemas, validation
from ...core.errors import Conflict, InvalidInput, NotFound
from . import topics

FIELDS = ("description", "schema")


def check_name(name, field="name") -> str:
    return topics.check_name(name, field, "'order.paid'")


def find(project_id: str, name: str) -> dict | None:
    return store.get(keys.event_types_of(project_id), name)


def put(project_id: str, name: str, body: dict) -> dict:
    """Declare the type or change it; a field left out keeps its value, null clears it."""
    check_name(name)
    validation.reject_unknown(body, FIELDS)
    changes = {}
    if "description" in body:
        changes["description"] = topics.description(body)
    if "schema" in body:
        changes["schema_json"] = (json.dumps(payload_schemas.check(body["schema"]), separators=(",", ":"))
                                  if body["schema"] is not None else None)
    now = clock.now()
    pk, sk = keys.event_types_of(project_id), name
    try:
        store.put({"pk": pk, "sk": sk, "project_id": project_id, "name": name, **changes,
                   "created_at": now, "updated_at": now}, condition="attribute_not_exists(pk)")
        return view(find(project_id, name))
    except store.ConditionFailed:
        pass
    try:
        return view(store.update(pk, sk, {**changes, "updated_at": now}, condition="attribute_exists(pk)"))
    except store.ConditionFailed:   # deleted between the two writes
        raise Conflict(f"Event type '{name}' was deleted meanwhile; send the request again.", field="name")


def list_(project_id: str, params: dict) -> dict:
    items, nxt = store.query_page(None, keys.event_types_of(project_id), limit=validation.query_limit(params),
                                  cursor=params.get("cursor"), newest_first=False)
    return {"items": [view(t) for t in items], "next_cursor": nxt}


def get(project_id: str, name: str) -> dict:
    check_name(name)
    found = find(project_id, name)
    if not found:
        raise NotFound(f"No event type '{name}' declared in this project; declare it with "
                       f"PUT /v1/scheduling/event-types/{name}.", field="name")
    return view(found)


def delete(project_id: str, name: str) -> dict:
    """Undeclared: publishes of the type are taken without a schema; subscriptions naming it stay."""
    get(project_id, name)
    store.delete(keys.event_types_of(project_id), name)
    return {"deleted": name}


def check_payload(project_id: str, event_type: str, payload: dict) -> None:
    """A 400 if the type is declared with a schema the payload does not fit."""
    declared = find(project_id, event_type)
    if declared and declared.get("schema_json"):
        problem = payload_schemas.error(json.loads(declared["schema_json"]), payload)
        if problem:
            raise InvalidInput(f"{problem} (the schema of event type '{event_type}'; see "
                               f"GET /v1/scheduling/event-types/{event_type}).", field="payload")


def view(record: dict) -> dict:
    return {"name": record["name"], "description": record.get("description"),
            "schema": json.loads(record["schema_json"]) if record.get("schema_json") else None,
            "created_at": clock.rfc3339(record["created_at"]), "updated_at": clock.rfc3339(record["updated_at"])}
