"""Fan-out: topics, their subscriptions, publishing, and declared event types (docs/topics.md).
Thin: each route hands its request to services/topics."""
from chalice import Blueprint

from ..core import traces
from ..services.topics import event_types, publish as publishing, subscriptions, topics
from .http import caller_project, idempotency_key, json_body, query, route

bp = Blueprint(__name__)
TOPICS = "/v1/scheduling/topics"
SUBS = "/v1/scheduling/subscriptions"
TYPES = "/v1/scheduling/event-types"


@route(bp, TOPICS, ["GET"], scope="read")
def list_topics():
    req = bp.current_request
    return topics.list_(caller_project(req), query(req))


@route(bp, f"{TOPICS}/{{name}}", ["PUT"], scope="manage")
def put_topic(name):
    req = bp.current_request
    project = caller_project(req)
    return topics.put(project, name, json_body(req))


@route(bp, f"{TOPICS}/{{name}}", ["GET"], scope="read")
def get_topic(name):
    return topics.get(caller_project(bp.current_request), name)


@route(bp, f"{TOPICS}/{{name}}", ["DELETE"], scope="manage")
def delete_topic(name):
    return topics.delete(caller_project(bp.current_request), name)


@route(bp, f"{TOPICS}/{{name}}/publish", ["POST"], status=202, scope="publish")
def publish(name):
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    return publishing.publish(project, name, body, idempotency_key(req, body), traces.from_headers(req.headers))


@route(bp, f"{TOPICS}/{{name}}/subscriptions", ["POST"], status=201, scope="manage")
def create_subscription(name):
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    return subscriptions.create(project, name, body, idempotency_key(req, body))


@route(bp, f"{TOPICS}/{{name}}/subscriptions", ["GET"], scope="read")
def list_subscriptions(name):
    req = bp.current_request
    return subscriptions.list_(caller_project(req), name, query(req))


@route(bp, f"{SUBS}/{{subscription_id}}", ["GET"], scope="read")
def get_subscription(subscription_id):
    return subscriptions.get(caller_project(bp.current_request), subscription_id)


@route(bp, f"{SUBS}/{{subscription_id}}", ["PATCH"], scope="manage")
def update_subscription(subscription_id):
    req = bp.current_request
    project = caller_project(req)
    return subscriptions.update(project, subscription_id, json_body(req))


@route(bp, f"{SUBS}/{{subscription_id}}", ["DELETE"], scope="manage")
def delete_subscription(subscription_id):
    return subscriptions.delete(caller_project(bp.current_request), subscription_id)


@route(bp, f"{SUBS}/{{subscription_id}}/pause", ["POST"], scope="manage")
def pause_subscription(subscription_id):
    return subscriptions.update(caller_project(bp.current_request), subscription_id, {"paused": True})


@route(bp, f"{SUBS}/{{subscription_id}}/resume", ["POST"], scope="manage")
def resume_subscription(subscription_id):
    return subscriptions.update(caller_project(bp.current_request), subscription_id, {"paused": False})


@route(bp, TYPES, ["GET"], scope="read")
def list_event_types():
    req = bp.current_request
    return event_types.list_(caller_project(req), query(req))


@route(bp, f"{TYPES}/{{name}}", ["PUT"], scope="manage")
def put_event_type(name):
    req = bp.current_request
    project = caller_project(req)
    return event_types.put(project, name, json_body(req))


@route(bp, f"{TYPES}/{{name}}", ["GET"], scope="read")
def get_event_type(name):
    return event_types.get(caller_project(bp.current_request), name)


@route(bp, f"{TYPES}/{{name}}", ["DELETE"], scope="manage")
def delete_event_type(name):
    return event_types.delete(caller_project(bp.current_request), name)
