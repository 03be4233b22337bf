from chalice import Blueprint

from ..services.webhooks import webhooks
from .http import caller_project, idempotency_key, json_body, once, query, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling/webhook"


@route(bp, f"{BASE}/send", ["POST"], status=202)
def send():
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    return webhooks.send(project, body, idempotency_key(req, body))


@route(bp, f"{BASE}/deliveries", ["GET"])
def list_deliveries():
    req = bp.current_request
    return webhooks.list_(caller_project(req), query(req))


@route(bp, f"{BASE}/deliveries/{{delivery_id}}", ["GET"])
def get_delivery(delivery_id):
    return webhooks.get(caller_project(bp.current_request), delivery_id)


@route(bp, f"{BASE}/deliveries/{{delivery_id}}/retry", ["POST"], status=202)
def retry_delivery(delivery_id):
    req = bp.current_request
    project = caller_project(req)
    return webhooks.retry(project, delivery_id, idempotency_key(req))


@route(bp, f"{BASE}/deliveries/{{delivery_id}}/cancel", ["POST"])
def cancel_delivery(delivery_id):
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "webhook.cancel", lambda: webhooks.cancel(project, delivery_id))


@route(bp, f"{BASE}/secret", ["GET"])
def get_secret():
    return webhooks.secret(caller_project(bp.current_request))


@route(bp, f"{BASE}/secret/rotate", ["POST"])
def rotate_secret():
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "webhook.rotate", lambda: webhooks.rotate_secret(project), secrets=("secret",))
