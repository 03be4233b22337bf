"""Subscriptions: a topic's subscribers. A subscription *is* a queue under the hood: its record
is an internal queue's (keys.subscription_queue: `@<topic>/<sub_id>`, a name no user queue can
have, kept out of GET /v1/scheduling/queue by its own index partition), so its deliveries are
that queue's messages and retries, retry_schedule, timeout, circuit breaker, rate_limit,
parallelism, pause (held, released on resume), attempts, cancel and replay all work exactly as
for queues, through the one delivery path. Besides a queue's fields it holds the topic, the
`event_types` it takes (null: all), its `filter` (core/event_patterns.py) and custom `headers`
(stored as a webhook send's: credentials sealed, shown masked)."""
import json
import logging

from ...aws import keys, store
from ... import config
from ...core import (breaker, clock, credential_headers, destinations, due, endpoint_auth, event_patterns,
                     flow_limits, ids, validation)
from ...core.errors import Conflict, InvalidInput, NotFound
from ..delivery import options
from ..queues import queues
from ..receivers import holding
from ..idempotency import idempotency, request_ids
from . import event_types, topics

FIELDS = ("url", "destination", "event_types", "filter", "description", "headers", "auth", "retries", "retry_schedule",
          "timeout_seconds", "paused", *flow_limits.FIELDS, "circuit_breaker")
MAX_EVENT_TYPES = 50
TARGETS = {"url": "destination", "destination": "url"}   # a subscription has exactly one

log = logging.getLogger(__name__)


def create(project_id: str, topic_name: str, body: dict, idem_key: str | None) -> dict:
    topics.load(project_id, topic_name)
    validation.reject_unknown(body, (*FIELDS, "idempotency_key"))
    if (body.get("url") is None) == (body.get("destination") is None):
        raise InvalidInput("Give exactly one of 'url' (the HTTP(S) endpoint the topic's events are delivered to) "
                           "and 'destination' (an SQS queue or EventBridge bus in your AWS account).",
                           field="url" if body.get("url") is None else "destination")
    fields = _checked(project_id, body, {})
    return idempotency.once(project_id, "topic.subscribe", idem_key, {**body, "topic": topic_name},
                            lambda: _create(project_id, topic_name, fields, idem_key))


def _create(project_id: str, topic_name: str, fields: dict, idem_key: str | None) -> dict:
    sub_id = request_ids.reserve(project_id, "topic.subscribe", idem_key, "sub")[0]
    name, now = keys.subscription_queue(topic_name, sub_id), clock.now()
    pk, sk = keys.queue(project_id, name)
    record = {"retries": 3, "timeout_seconds": 30, "paused": False, "event_types": None, "filter_json": None,
              "description": None, "headers": {}, **{k: v for k, v in fields.items() if v is not None},
              "pk": pk, "sk": sk, "project_id": project_id, "name": name, "subscription_id": sub_id,
              "topic": topic_name, "gsi1pk": keys.subscriptions_of(project_id), "gsi1sk": f"{topic_name}#{sub_id}",
              "created_at": now, "updated_at": now}
    try:
        store.transact_write([
            {"update": topics.key(project_id, topic_name), "expression": "SET subscriptions = subscriptions + :one",
             "condition": "attribute_exists(pk) AND subscriptions < :cap",
             "values": {":one": 1, ":cap": topics.MAX_SUBSCRIPTIONS}},
            {"put": record, "condition": "attribute_not_exists(pk)"},
            {"put": {"pk": keys.subscription(project_id, sub_id)[0], "sk": sub_id, "project_id": project_id,
                     "topic": topic_name}, "condition": "attribute_not_exists(pk)"}])
    except store.ConditionFailed as e:
        made = holding.find(project_id, name)
        if made:   # a retried request (request_ids gave it the same id): made before
            return view(made)
        topic = topics.load(project_id, topic_name)
        raise Conflict(f"Topic '{topic_name}' has {topic['subscriptions']} subscriptions, the most a topic takes "
                       f"({topics.MAX_SUBSCRIPTIONS}); delete one first or use another topic.",
                       field="topic") from e
    return view(record)


def _checked(project_id: str, body: dict, current: dict) -> dict:
    """The stored form of each field given (None: back to the default), every one checked before
    anything is written; `current`: the subscription as it is (a PATCH)."""
    out: dict = {}
    if body.get("url") is not None and body.get("destination") is not None:
        raise InvalidInput("Give either 'url' or 'destination', not both.", field="destination")
    for target in ("url", "destination"):   # one replaces the other (a PATCH may switch)
        if target in body and body[target] is None and not body.get(TARGETS[target]):
            raise InvalidInput(f"'{target}' cannot be removed; give the other target, pause the subscription or "
                               "delete it.", field=target)
    if body.get("url") is not None:
        out["url"], out["destination"] = options.check_url(body), None
    if body.get("destination") is not None:
        out["destination"], out["url"] = destinations.check(body["destination"], config.destination_arns()), None
    if out.get("destination") or (current.get("destination") and "url" not in out):
        _no_http_options(body)
        if "destination" in out:   # from a URL: what only an HTTP request uses goes
            out.update(headers={}, auth=None)
    url = out["url"] if "url" in out else current.get("url")
    if "auth" in body:
        out["auth"] = options.auth(body, project_id, url)
    elif url is not None:
        endpoint_auth.requires_https(current.get("auth"), url, "url")
    if "headers" in body:
        headers = validation.extra_headers(body) if body["headers"] is not None else {}
        out["headers"] = headers
    auth = out["auth"] if "auth" in out else current.get("auth")
    if auth and auth["type"] == endpoint_auth.OAUTH2 and any(
            k.lower() == "authorization" for k in out.get("headers", current.get("headers") or {})):
        raise InvalidInput("Give either an Authorization header or an oauth2_client_credentials 'auth' (which "
                           "sends its token as Authorization), not both.", field="headers")
    if "headers" in out:
        out["headers"] = credential_headers.sealed(out["headers"], project_id)
    if "event_types" in body:
        out["event_types"] = _event_types(body["event_types"])
    if "filter" in body:
        out["filter_json"] = (json.dumps(event_patterns.check(body["filter"]), separators=(",", ":"))
                              if body["filter"] is not None else None)
    if "description" in body:
        out["description"] = topics.description(body)
    out.update(options.endpoint_settings(body))
    return out


def _no_http_options(body: dict) -> None:
    """A destination takes no HTTP headers, endpoint auth or circuit breaker: it is no HTTP
    endpoint (AWS's own failures are retried, then dead-lettered, as every failed attempt)."""
    for f in destinations.HTTP_ONLY:
        if body.get(f) is not None:
            raise InvalidInput(f"'{f}' applies to a 'url' (an HTTP endpoint), not to a 'destination'.", field=f)


def _event_types(value) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_EVENT_TYPES:
        raise InvalidInput(f"'event_types' must be a list of 1 to {MAX_EVENT_TYPES} event type names, or null "
                           "(every type).", field="event_types")
    for i, name in enumerate(value):
        event_types.check_name(name, f"event_types[{i}]")
    if len(set(value)) != len(value):
        raise InvalidInput("'event_types' names a type twice.", field="event_types")
    return list(value)


def load(project_id: str, sub_id: str) -> dict:
    pointer = store.get(*keys.subscription(project_id, sub_id)) if ids.is_id(sub_id, "sub") else None
    sub = holding.find(project_id, keys.subscription_queue(pointer["topic"], sub_id)) if pointer else None
    if not sub:
        raise NotFound(f"No subscription '{sub_id}' in this project; list them with "
                       "GET /v1/scheduling/topics/{name}/subscriptions.", field="subscription_id")
    return sub


def get(project_id: str, sub_id: str) -> dict:
    sub = load(project_id, sub_id)
    return view(sub, counts=queues.message_counts(sub))


def update(project_id: str, sub_id: str, body: dict) -> dict:
    """A PATCH: the fields given change (null: back to the default); a subscription that may
    send again (resumed) releases its held deliveries in publish order, as a queue does."""
    validation.reject_unknown(body, FIELDS)
    current = load(project_id, sub_id)
    changes = _checked(project_id, body, current)
    now = clock.now()
    changes["updated_at"] = now
    if holding.accepts({**current, **changes}):   # owed a release until one has run through
        changes.update(due.mark(current["pk"], now + due.SYNC_GRACE, due.RELEASE))
    try:
        sub = store.update(current["pk"], current["sk"], changes, condition="attribute_exists(pk)")
    except store.ConditionFailed:   # deleted meanwhile
        raise NotFound(f"No subscription '{sub_id}' in this project (it was deleted).", field="subscription_id")
    if holding.accepts(sub):
        try:
            holding.finish_release(sub)
        except Exception:  # noqa: BLE001 - the change is stored; its RELEASE marker finishes the release
            log.warning("release of held deliveries failed; the reconciler finishes it", exc_info=True)
    return view(sub)


def delete(project_id: str, sub_id: str) -> dict:
    """Its deliveries not yet made are cancelled (they stay readable, state `cancelled`)."""
    sub = load(project_id, sub_id)
    cancelled = 0
    for state in queues.PENDING:
        while True:
            items, _ = store.query_page("gsi2", keys.deliveries_in_state(project_id, queues.kind(sub["name"]), state),
                                        limit=100, cursor=None)
            if not items:
                break
            cancelled += sum(queues.cancel_message(m) for m in items)
    try:
        store.transact_write([
            {"update": topics.key(project_id, sub["topic"]), "expression": "SET subscriptions = subscriptions - :one",
             "condition": "attribute_exists(pk) AND subscriptions > :zero", "values": {":one": 1, ":zero": 0}},
            {"delete": (sub["pk"], sub["sk"]), "condition": "attribute_exists(pk)"},
            {"delete": keys.subscription(project_id, sub_id)}])
    except store.ConditionFailed:
        pass   # deleted by a concurrent request, which counted it
    store.delete(*keys.queue_flow(project_id, sub["name"]))   # its limiter state (absent without limits)
    return {"deleted": sub_id, "cancelled_deliveries": cancelled}


def list_(project_id: str, topic_name: str, params: dict) -> dict:
    topics.load(project_id, topic_name)
    items, nxt = store.query_page("gsi1", keys.subscriptions_of(project_id), limit=validation.query_limit(params),
                                  cursor=params.get("cursor"), newest_first=False, sk_prefix=f"{topic_name}#")
    return {"items": [view(s) for s in items], "next_cursor": nxt}


def all_of(project_id: str, topic_name: str) -> list[dict]:
    """Every subscription of the topic (at most topics.MAX_SUBSCRIPTIONS), in creation order."""
    out, cursor = [], None
    while True:
        items, cursor = store.query_page("gsi1", keys.subscriptions_of(project_id), limit=500, cursor=cursor,
                                         newest_first=False, sk_prefix=f"{topic_name}#")
        out += items
        if not cursor:
            return out


def wants(sub: dict, event_type: str, payload: dict) -> bool:
    """Whether a publish of `event_type` with `payload` is delivered to the subscription."""
    if sub.get("event_types") is not None and event_type not in sub["event_types"]:
        return False
    return not sub.get("filter_json") or event_patterns.matches(json.loads(sub["filter_json"]), payload)


def view(sub: dict, counts: dict | None = None) -> dict:
    out = {"subscription_id": sub["subscription_id"], "topic": sub["topic"], "url": sub.get("url"),
           "destination": sub.get("destination"),
           "event_types": sub.get("event_types"),
           "filter": json.loads(sub["filter_json"]) if sub.get("filter_json") else None,
           "description": sub.get("description"),
           "headers": credential_headers.masked(sub.get("headers") or {}, sub["project_id"]),
           "auth": endpoint_auth.view(sub.get("auth")), "retries": sub["retries"],
           "timeout_seconds": sub["timeout_seconds"], "paused": sub.get("paused", False), **flow_limits.view(sub),
           "circuit_breaker": breaker.settings(sub), "retry_schedule": sub.get("retry_schedule"),
           "created_at": clock.rfc3339(sub["created_at"]), "updated_at": clock.rfc3339(sub["updated_at"])}
    if counts is not None:
        out["counts"] = counts
    return out
