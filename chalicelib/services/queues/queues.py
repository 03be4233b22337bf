"""Named queues. A queue with an endpoint delivers its messages there; a queue without one (or
paused) *holds* them, visibly, and releases them in publish order when it gets one. Messages
are deliveries of kind `queue:<name>` with `msg_` ids; the endpoint is read at each attempt,
so a changed URL applies to messages already waiting. Holding and releasing, and how neither
a crash nor a race leaves a message held on a queue that accepts: receivers/holding.py."""
import logging
import re

from ...aws import keys, store
from ...core import breaker, clock, due, endpoint_auth, flow_limits, validation
from ...core.errors import Conflict, InvalidInput, NotFound
from ..delivery import deliveries, delivery_index, options
from ..receivers import holding
from ..tenancy import quotas

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,80}")   # always fullmatch: `$` matches before a final newline
RESERVED = {"publish", "publish-batch", "messages"}
PUBLISH_FIELDS = ("queue", "payload", "delay_seconds", *options.CALLBACK_FIELDS, "idempotency_key")
QUEUE_FIELDS = ("url", "auth", "retries", "timeout_seconds", "paused", *flow_limits.FIELDS, "circuit_breaker", "retry_schedule")
PENDING = ("held", "queued", "waiting", "retrying")


def check_name(name, field="queue") -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidInput(f"'{field}' must be 1 to 80 letters, digits, '-', '_' or '.', "
                           "e.g. 'send-daily-digest'.", field=field)
    validation.not_only_dots(name, field)
    if name in RESERVED:
        raise InvalidInput(f"'{name}' is reserved (it is a route); pick another queue name.", field=field)
    return name


def kind(name: str) -> str:
    return keys.queue_kind(name)


def load(project_id: str, name: str) -> dict:
    check_name(name, "name")
    queue = holding.find(project_id, name)
    if not queue:
        raise NotFound(f"No queue '{name}' in this project; create it with PUT /v1/scheduling/queue/{name} "
                       "or by publishing to it.", field="name")
    return queue


def ensure(project_id: str, name: str) -> dict:
    """The queue, created (without an endpoint) on first publish: its messages are held."""
    queue = holding.find(project_id, name)
    if queue:
        return queue
    now = clock.now()
    pk, sk = keys.queue(project_id, name)
    queue = {"pk": pk, "sk": sk, "project_id": project_id, "name": name, "gsi1pk": keys.queues_of(project_id),
             "gsi1sk": name, "url": None, "retries": 3, "timeout_seconds": 30, "paused": False,
             "created_at": now, "updated_at": now}
    try:
        quotas.put_queue(queue)
    except store.ConditionFailed:
        return holding.find(project_id, name)
    return queue


def put(project_id: str, name: str, body: dict) -> dict:
    check_name(name, "name")
    validation.reject_unknown(body, QUEUE_FIELDS)
    changes = {}
    if "url" in body:
        changes["url"] = options.check_url(body) if body["url"] is not None else None
    if "url" in body or "auth" in body:   # mTLS needs https: the pair is checked as it will be
        changes.update(_endpoint_auth(project_id, name, body, changes))
    changes.update(options.endpoint_settings(body))   # retries, timeout, paused, flow limits, breaker, retry schedule
    current = ensure(project_id, name)   # only once every field has passed
    now = clock.now()
    changes["updated_at"] = now
    if holding.accepts({**current, **changes}):   # it may send: owed a release until one has run through
        changes.update(due.mark(current["pk"], now + due.SYNC_GRACE, due.RELEASE))
    queue = store.update(current["pk"], current["sk"], changes)
    if holding.accepts(queue):
        try:
            holding.finish_release(queue)
        except Exception:  # noqa: BLE001 - the PUT is stored; its RELEASE marker finishes the release
            log.warning("release of held messages failed; the reconciler finishes it", exc_info=True)
    return view(queue)


def _endpoint_auth(project_id: str, name: str, body: dict, changes: dict) -> dict:
    """The queue's `auth` (its endpoint's credentials; null: none), checked with the URL it goes with."""
    need_current = "url" not in changes or "auth" not in body
    current = (holding.find(project_id, name) or {}) if need_current else {}
    url = changes["url"] if "url" in changes else current.get("url")
    if "auth" in body:
        return {"auth": options.auth(body, project_id, url)}
    endpoint_auth.requires_https(current.get("auth"), url, "url")
    return {}


def list_(project_id: str, params: dict) -> dict:
    limit = validation.query_limit(params)
    items, nxt = store.query_page("gsi1", keys.queues_of(project_id), limit=limit,
                                  cursor=params.get("cursor"), newest_first=False)
    return {"items": [view(q, counts=True) for q in items], "next_cursor": nxt}


def get(project_id: str, name: str) -> dict:
    return view(load(project_id, name), counts=True)


def message_counts(queue: dict) -> dict:
    k = kind(queue["name"])
    return {state: store.count("gsi2", keys.deliveries_in_state(queue["project_id"], k, state))
            for state in ("held", "queued", "waiting", "retrying", "failed")}


def delete(project_id: str, name: str, params: dict) -> dict:
    """A queue with messages still to deliver is deleted only with ?force=true, which cancels
    them (they stay readable, state `cancelled`): nothing disappears silently."""
    queue = load(project_id, name)
    pending = {s: n for s, n in message_counts(queue).items() if s in PENDING and n}
    force = (params or {}).get("force") == "true"
    if pending and not force:
        raise Conflict(f"Queue '{name}' still has messages to deliver ({pending}); deliver or cancel them, "
                       "or DELETE with ?force=true to cancel them all.", field="name", pending=pending)
    cancelled = 0
    for state in PENDING:
        while True:
            items, _ = store.query_page("gsi2", keys.deliveries_in_state(project_id, kind(name), state),
                                        limit=100, cursor=None)
            if not items:
                break
            cancelled += sum(cancel_message(m) for m in items)
    quotas.delete_queue(queue)
    store.delete(*keys.queue_flow(project_id, name))   # its limiter state (absent if it never had limits)
    return {"deleted": name, "cancelled_messages": cancelled}


def cancel_message(msg: dict) -> bool:
    try:
        store.update(msg["pk"], msg["sk"], {
            "state": "cancelled", "updated_at": clock.now(), "next_attempt_at": None, **due.unmark(),
            **deliveries.state_keys(msg, "cancelled"), **deliveries.ending(msg, "cancelled", clock.now()),
            **delivery_index.changed(msg, delivery_index.fields({**msg, "state": "cancelled"}))},
            condition="#st IN (:h, :q, :w, :r)", names={"#st": "state"},
            values={":h": "held", ":q": "queued", ":w": "waiting", ":r": "retrying"})
        return True
    except store.ConditionFailed:
        return False


def view(queue: dict, counts: bool = False) -> dict:
    out = {"name": queue["name"], "url": queue.get("url"), "retries": queue["retries"],
           "timeout_seconds": queue["timeout_seconds"], "paused": queue.get("paused", False),
           **flow_limits.view(queue), "circuit_breaker": breaker.settings(queue),
           "auth": endpoint_auth.view(queue.get("auth")),
           "retry_schedule": queue.get("retry_schedule"),
           "created_at": clock.rfc3339(queue["created_at"]), "updated_at": clock.rfc3339(queue["updated_at"])}
    if counts:
        out["counts"] = message_counts(queue)
    return out
