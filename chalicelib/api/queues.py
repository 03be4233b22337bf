from chalice import Blueprint

from ..core import traces, validation
from ..services.queues import messages, queues
from .http import caller_project, idempotency_key, json_body, once, publishing_to, query, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling/queue"


@route(bp, f"{BASE}/publish", ["POST"], status=202, scope="publish", queue_publish=True)
def publish():
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    publishing_to([("queue", body.get("queue"))])   # a key limited to some queues (core/scopes.py)
    return messages.publish(project, body, idempotency_key(req, body), traces.from_headers(req.headers))


@route(bp, f"{BASE}/publish-batch", ["POST"], status=202, scope="publish", queue_publish=True)
def publish_batch():
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req, validation.MAX_BATCH_REQUEST_BYTES, slots="messages")   # a bad message: its own slot
    listed = body.get("messages") if isinstance(body.get("messages"), list) else []
    publishing_to([(f"messages[{i}].queue", m.get("queue")) for i, m in enumerate(listed) if isinstance(m, dict)])
    return messages.publish_batch(project, body, idempotency_key(req, body), traces.from_headers(req.headers))


@route(bp, BASE, ["GET"], scope="read")
def list_queues():
    req = bp.current_request
    return queues.list_(caller_project(req), query(req))


@route(bp, f"{BASE}/{{name}}", ["PUT"], scope="manage")
def put_queue(name):
    req = bp.current_request
    project = caller_project(req)
    return queues.put(project, name, json_body(req))


@route(bp, f"{BASE}/{{name}}", ["GET"], scope="read")
def get_queue(name):
    return queues.get(caller_project(bp.current_request), name)


@route(bp, f"{BASE}/{{name}}", ["DELETE"], scope="manage")
def delete_queue(name):
    req = bp.current_request
    return queues.delete(caller_project(req), name, query(req))


@route(bp, f"{BASE}/{{name}}/messages", ["GET"], scope="read")
def list_messages(name):
    req = bp.current_request
    return messages.list_(caller_project(req), name, query(req))


@route(bp, f"{BASE}/messages/{{message_id}}", ["GET"], scope="read")
def get_message(message_id):
    return messages.get(caller_project(bp.current_request), message_id)


@route(bp, f"{BASE}/messages/{{message_id}}/cancel", ["POST"], scope="manage")
def cancel_message(message_id):
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "queue.cancel", lambda: messages.cancel(project, message_id))


@route(bp, f"{BASE}/messages/{{message_id}}/retry", ["POST"], status=202, scope="publish")
def retry_message(message_id):
    req = bp.current_request
    project = caller_project(req)
    return messages.retry(project, message_id, idempotency_key(req))
