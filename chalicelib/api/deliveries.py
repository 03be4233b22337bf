"""Every delivery of a project in one list, and bulk replay (chalicelib/services/delivery/delivery_list.py,
replays.py)."""
from chalice import Blueprint

from ..services.delivery import delivery_list
from ..services.replays import replays
from .http import caller_project, idempotency_key, json_body, query, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling"


@route(bp, f"{BASE}/deliveries", ["GET"], scope="read")
def list_deliveries():
    req = bp.current_request
    return delivery_list.list_(caller_project(req), query(req))


@route(bp, f"{BASE}/deliveries/replay", ["POST"], status=202, scope="manage")
def replay_deliveries():
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    return replays.start(project, body, idempotency_key(req, body))


@route(bp, f"{BASE}/replays/{{replay_id}}", ["GET"], scope="read")
def get_replay(replay_id):
    return replays.get(caller_project(bp.current_request), replay_id)
