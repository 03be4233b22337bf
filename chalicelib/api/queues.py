from chalice import Blueprint

from ..core import validation
from ..services.queues import messages, queues
from .http import caller_project, idempotency_key, json_body, once, query, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling/queue"


@route(bp, f"{BASE}/publish", ["POST"], status=202)
def publish():
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    return messages.publish(project, body, idempotency_key(req, body))


@route(bp, f"{BASE}/publish-batch", ["POST"], status=202)
def publish_batch():
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req, validation.MAX_BATCH_REQUEST_BYTES, slots="messages")   # a bad message: its own slot
    return messages.publish_batch(project, body, idempotency_key(req, body))


@route(bp, BASE, ["GET"])
def list_queues():
    req = bp.current_request
    return queues.list_(caller_project(req), query(req))


@route(bp, f"{BASE}/{{name}}", ["PUT"])
def put_queue(name):
    req = bp.current_request
    project = caller_project(req)
    return queues.put(project, name, json_body(req))


@route(bp, f"{BASE}/{{name}}", ["GET"])
def get_queue(name):
    return queues.get(caller_project(bp.current_request), name)


@route(bp, f"{BASE}/{{name}}", ["DELETE"])
def delete_queue(name):
    req = bp.current_request
    return queues.delete(caller_project(req), name, query(req))


@route(bp, f"{BASE}/{{name}}/messages", ["GET"])
def list_messages(name):
    req = bp.current_request
    return messages.list_(caller_project(req), name, query(req))


@route(bp, f"{BASE}/messages/{{message_id}}", ["GET"])
def get_message(message_id):
    return messages.get(caller_project(bp.current_request), message_id)


@route(bp, f"{BASE}/messages/{{message_id}}/cancel", ["POST"])
def cancel_message(message_id):
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "queue.cancel", lambda: messages.cancel(project, message_id))


@route(bp, f"{BASE}/messages/{{message_id}}/retry", ["POST"], status=202)
def retry_message(message_id):
    req = bp.current_request
    project = caller_project(req)
    return messages.retry(project, message_id, idempotency_key(req))
