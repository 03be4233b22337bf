from chalice import Blueprint

from ..services.receivers import flows
from .http import caller_project, json_body, query, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling/flows"


@route(bp, BASE, ["GET"], scope="read")
def list_flows():
    req = bp.current_request
    return flows.list_(caller_project(req), query(req))


@route(bp, f"{BASE}/{{key}}", ["PUT"], scope="manage")
def put_flow(key):
    req = bp.current_request
    project = caller_project(req)
    return flows.put(project, key, json_body(req))


@route(bp, f"{BASE}/{{key}}", ["GET"], scope="read")
def get_flow(key):
    return flows.get(caller_project(bp.current_request), key)


@route(bp, f"{BASE}/{{key}}", ["DELETE"], scope="manage")
def delete_flow(key):
    return flows.delete(caller_project(bp.current_request), key)
