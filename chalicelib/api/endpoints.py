from chalice import Blueprint

from ..services.receivers import endpoints
from .http import caller_project, once, query, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling/endpoints"


@route(bp, BASE, ["GET"], scope="read")
def list_endpoints():
    req = bp.current_request
    return endpoints.list_(caller_project(req), query(req))


@route(bp, f"{BASE}/{{endpoint_id}}/release", ["POST"], scope="manage")
def release_endpoint(endpoint_id):
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "endpoints.release", lambda: endpoints.release(project, endpoint_id))
