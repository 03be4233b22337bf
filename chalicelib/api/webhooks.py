from chalice import Blueprint

from ..core import traces
from ..services.tenancy import signature_keys
from ..services.webhooks import webhooks
from .http import caller_project, idempotency_key, json_body, once, query, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling/webhook"


@route(bp, f"{BASE}/send", ["POST"], status=202, scope="publish")
def send():
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    return webhooks.send(project, body, idempotency_key(req, body), traces.from_headers(req.headers))


@route(bp, f"{BASE}/deliveries", ["GET"], scope="read")
def list_deliveries():
    req = bp.current_request
    return webhooks.list_(caller_project(req), query(req))


@route(bp, f"{BASE}/deliveries/{{delivery_id}}", ["GET"], scope="read")
def get_delivery(delivery_id):
    return webhooks.get(caller_project(bp.current_request), delivery_id)


@route(bp, f"{BASE}/deliveries/{{delivery_id}}/retry", ["POST"], status=202, scope="publish")
def retry_delivery(delivery_id):
    req = bp.current_request
    project = caller_project(req)
    return webhooks.retry(project, delivery_id, idempotency_key(req))


@route(bp, f"{BASE}/deliveries/{{delivery_id}}/cancel", ["POST"], scope="manage")
def cancel_delivery(delivery_id):
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "webhook.cancel", lambda: webhooks.cancel(project, delivery_id))


@route(bp, f"{BASE}/secret", ["GET"], scope="admin")
def get_secret():
    return webhooks.secret(caller_project(bp.current_request))


@route(bp, f"{BASE}/secret/rotate", ["POST"], scope="admin")
def rotate_secret():
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "webhook.rotate", lambda: webhooks.rotate_secret(project), secrets=("secret",))


@route(bp, f"{BASE}/public-keys", ["GET"], scope="read")
def public_keys():
    """The whpk_ keys that verify v1a signatures (the whsk_ secret keys are never shown)."""
    return signature_keys.public_keys(caller_project(bp.current_request))


@route(bp, f"{BASE}/public-keys/rotate", ["POST"], scope="admin")
def rotate_public_key():
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "webhook.public_keys.rotate", lambda: signature_keys.rotate(project))
