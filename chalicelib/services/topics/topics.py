"""Topics: named fan-out points. A publish to a topic is delivered once to each of its
subscriptions whose event types and filter match (publish.py). A topic counts its subscriptions
(`subscriptions`, changed in the same transaction as a subscription is made or deleted), which
caps them at MAX_SUBSCRIPTIONS and lets a delete refuse while any remain: deleting a topic never
drops a subscriber silently. A project's topics count against its plan's `topics` limit."""

from ...aws import keys, store
from ...core import clock, validation
from ...core.errors import Conflict, InvalidInput, NotFound
from ..tenancy import quotas

NAME_RE = validation.NAME   # always fullmatch: `$` matches before a final newline
FIELDS = ("description",)
MAX_DESCRIPTION = 1024
MAX_SUBSCRIPTIONS = 1000   # per topic: one publish fans out to at most this many deliveries


def check_name(name, field="name", example="'orders'") -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidInput(f"'{field}' must be 1 to 80 letters, digits, '-', '_' or '.', e.g. {example}.",
                           field=field)
    return validation.not_only_dots(name, field)


def description(body: dict) -> str | None:
    return validation.string(body, "description", required=False, max_len=MAX_DESCRIPTION, min_len=0)


def key(project_id: str, name: str) -> tuple[str, str]:
    return keys.topics_of(project_id), name


def find(project_id: str, name: str) -> dict | None:
    return store.get(*key(project_id, name))


def load(project_id: str, name: str) -> dict:
    check_name(name)
    topic = find(project_id, name)
    if not topic:
        raise NotFound(f"No topic '{name}' in this project; create it with PUT /v1/scheduling/topics/{name}.",
                       field="name")
    return topic


def put(project_id: str, name: str, body: dict) -> dict:
    """Create the topic within the plan's topics limit, or change its description (null: none):
    only a new topic is counted."""
    check_name(name)
    validation.reject_unknown(body, FIELDS)
    text = description(body)
    now = clock.now()
    pk, sk = key(project_id, name)
    try:
        quotas.put_topic({"pk": pk, "sk": sk, "project_id": project_id, "name": name, "description": text,
                          "subscriptions": 0, "created_at": now, "updated_at": now})
        return view(find(project_id, name))
    except store.ConditionFailed:
        if "description" not in body:
            return get(project_id, name)
        try:
            return view(store.update(pk, sk, {"description": text, "updated_at": now},
                                     condition="attribute_exists(pk)"))
        except store.ConditionFailed:   # deleted between the two writes
            raise Conflict(f"Topic '{name}' was deleted meanwhile; send the request again.", field="name")


def list_(project_id: str, params: dict) -> dict:
    items, nxt = store.query_page(None, keys.topics_of(project_id), limit=validation.query_limit(params),
                                  cursor=params.get("cursor"), newest_first=False)
    return {"items": [view(t) for t in items], "next_cursor": nxt}


def get(project_id: str, name: str) -> dict:
    return view(load(project_id, name))


def delete(project_id: str, name: str) -> dict:
    """Refused (409) while the topic has subscriptions: delete them first. Gives its place in the
    plan's topics limit back."""
    topic = load(project_id, name)
    if not quotas.delete_topic(topic, condition="subscriptions = :zero", values={":zero": 0}):
        now = find(project_id, name)
        if now is None:
            raise NotFound(f"No topic '{name}' in this project.", field="name")
        raise Conflict(f"Topic '{name}' still has {now['subscriptions']} subscription(s); delete them first "
                       f"(DELETE /v1/scheduling/subscriptions/{{id}}).", field="name",
                       subscriptions=now["subscriptions"])
    return {"deleted": topic["name"]}


def view(topic: dict) -> dict:
    return {"name": topic["name"], "description": topic.get("description"),
            "subscriptions": topic.get("subscriptions", 0),
            "created_at": clock.rfc3339(topic["created_at"]), "updated_at": clock.rfc3339(topic["updated_at"])}
