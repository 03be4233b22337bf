"""What a cron job accepts: its fields, their bounds, its one target (a URL, a queue, or a topic
with an event type) and its endpoint's options, checked for a create or merged over the job
for a PATCH. Nothing here reads or writes the job (cron.py does)."""
import json

from ...core import breaker, endpoint_auth, flow_limits, retry_policy, schedules, validation
from ...core.errors import InvalidInput, NotFound
from ..delivery import options
from ..queues import queues
from ..topics import event_types, topics

OPTIONAL = ("retry_schedule", "callback_url", "failure_callback_url")   # null: the default (none)
TARGETS = ("url", "queue", "topic")
FIELDS = ("name", "schedule", *TARGETS, "event_type", "payload", "timezone", "retries", "timeout_seconds",
          "enabled", "catch_up_window_seconds", "flow_key", "circuit_breaker", "auth", *OPTIONAL, "idempotency_key")
MAX_NAME = 128
MAX_RETRIES = 20
MAX_TIMEOUT = 300   # see README "Limits": an attempt must fit in the deliver function's run
MAX_CATCH_UP_WINDOW = 7 * 86400   # a week of missed runs at most (docs/missed-runs.md)


def check(body: dict, current: dict | None = None, project_id: str = "") -> dict:
    """The validated fields of a create (current None) or a PATCH (merged over current)."""
    validation.reject_unknown(body, FIELDS)
    partial = current is not None
    out = dict(current or {})

    def given(name):
        return not partial or name in body
    if given("name"):
        name = validation.printable(validation.string(body, "name", max_len=MAX_NAME), "name")
        out["name"] = name.strip() or _empty_name()
    if given("schedule"):
        raw = validation.string(body, "schedule", max_len=schedules.MAX_LENGTH)
        out["schedule"] = schedules.parse(raw).expression
    if given("timezone"):
        out["timezone"] = schedules.check_timezone(body.get("timezone", "UTC"))
    if not partial or any(t in body for t in TARGETS):
        out.update(_target(body, project_id))
    if given("payload"):
        out["payload"] = validation.any_json(body)
    if given("event_type") or (partial and any(t in body for t in TARGETS)):
        out["event_type"] = _event_type(body, out)
    if out.get("topic"):
        _check_topic_payload(project_id, out)
    if given("retries"):
        out["retries"] = validation.integer(body, "retries", 3, 0, MAX_RETRIES)
    if given("timeout_seconds"):
        out["timeout_seconds"] = validation.integer(body, "timeout_seconds", 300, 1, MAX_TIMEOUT)
    if given("enabled"):
        out["enabled"] = validation.boolean(body, "enabled", True)
    if given("catch_up_window_seconds"):
        out["catch_up_window_seconds"] = _catch_up_window(body)
    if given("flow_key"):
        out["flow_key"] = flow_limits.check_key(body["flow_key"]) if body.get("flow_key") is not None else None
    if out.get("flow_key") and not out.get("url"):
        raise InvalidInput("'flow_key' applies to a job that targets a url; a queue's limits are its own "
                           "(PUT /v1/scheduling/queue/{name} with rate_limit / parallelism), a topic's "
                           "subscriptions have their own.", field="flow_key")
    if "circuit_breaker" in body:
        out.update(breaker.fields(body))
    if not out.get("url") and body.get("circuit_breaker") is not None:
        raise InvalidInput("'circuit_breaker' applies to a job that targets a url; a queue's breaker is its "
                           "own (PUT /v1/scheduling/queue/{name} with circuit_breaker), a topic's "
                           "subscriptions have their own.", field="circuit_breaker")
    if not out.get("url"):   # a job feeding a queue or topic goes through their breakers: none of its own
        out.update({"circuit_breaker": None, "breaker_off": None})
    out.update(_auth(body, out, project_id))
    if given("retry_schedule"):
        out["retry_schedule"] = retry_policy.check(body.get("retry_schedule"))
    for field in options.CALLBACK_FIELDS:
        if given(field):
            out[field] = options.callbacks(body)[field]
    return out


def _auth(body: dict, out: dict, project_id: str) -> dict:
    """The job's endpoint credentials (core/endpoint_auth.py), copied to each run's delivery; a job
    feeding a queue or a topic uses its queue's or subscriptions'."""
    if not out.get("url"):
        if body.get("auth") is not None:
            raise InvalidInput("'auth' applies to a job that targets a url; a queue's endpoint has its own "
                               "(PUT /v1/scheduling/queue/{name} with auth), as a topic's subscriptions do.",
                               field="auth")
        return {"auth": None}
    if "auth" in body:
        return {"auth": options.auth(body, project_id, out.get("url"))}
    endpoint_auth.requires_https(out.get("auth"), out.get("url"), "url")
    return {}


def _catch_up_window(body: dict) -> int:
    value = body.get("catch_up_window_seconds")
    if value is not None and not isinstance(value, bool) and isinstance(value, (int, float)) \
            and not 0 <= value <= MAX_CATCH_UP_WINDOW:
        raise InvalidInput(f"'catch_up_window_seconds' is at most {MAX_CATCH_UP_WINDOW} (7 days); runs "
                           "missed longer ago are skipped and reported. 0 (the default) skips every "
                           "missed run.", field="catch_up_window_seconds")
    return validation.integer(body, "catch_up_window_seconds", 0, 0, MAX_CATCH_UP_WINDOW)


def _empty_name():
    raise InvalidInput("'name' must not be blank.", field="name")


def _target(body: dict, project_id: str) -> dict:
    given = [t for t in TARGETS if body.get(t) is not None]
    if len(given) != 1:
        raise InvalidInput("Give exactly one target: 'url' (an http(s) URL to POST to), 'queue' (a queue name "
                           "to publish into) or 'topic' (a topic to publish to, with 'event_type').",
                           field=given[0] if given else "queue")
    none = dict.fromkeys(TARGETS)
    if given == ["url"]:
        return {**none, "url": options.check_url(body)}
    if given == ["queue"]:
        return {**none, "queue": queues.check_name(body["queue"], "queue")}
    name = topics.check_name(body["topic"], "topic")
    if not topics.find(project_id, name):
        raise NotFound(f"No topic '{name}' in this project; create it first with PUT /v1/scheduling/topics/{name}.",
                       field="topic")
    return {**none, "topic": name}


def _event_type(body: dict, out: dict) -> str | None:
    """What a run to a topic publishes as (required with 'topic', refused otherwise)."""
    if not out.get("topic"):
        if body.get("event_type") is not None:
            raise InvalidInput("'event_type' applies to a job that targets a 'topic'; remove it, or give "
                               "'topic' instead of 'url'/'queue'.", field="event_type")
        return None
    if body.get("event_type") is None:
        if out.get("event_type") and "event_type" not in body:
            return out["event_type"]   # a PATCH of the topic keeps the job's event type
        raise InvalidInput("'event_type' is required with 'topic', e.g. 'report.daily' (subscriptions "
                           "choose by it).", field="event_type")
    return event_types.check_name(body["event_type"], "event_type")


def _check_topic_payload(project_id: str, out: dict) -> None:
    """A run to a topic publishes the payload: a JSON object, fitting its event type's schema."""
    payload = json.loads(out.get("payload") or "{}")
    if not isinstance(payload, dict):
        raise InvalidInput("'payload' must be a JSON object when the job targets a topic (subscriptions "
                           "filter on its fields); wrap it, e.g. {\"data\": ...}.", field="payload")
    event_types.check_payload(project_id, out["event_type"], payload)
