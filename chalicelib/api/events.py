"""The project's operational-events endpoint (chalicelib/services/notices/events.py)."""
from chalice import Blueprint

from ..services.notices import events
from .http import caller_project, json_body, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling/events"


@route(bp, BASE, ["PUT"], scope="manage")
def put_events():
    req = bp.current_request
    project = caller_project(req)
    return events.put_config(project, json_body(req))


@route(bp, BASE, ["GET"], scope="read")
def get_events():
    return events.get_config(caller_project(bp.current_request))


@route(bp, BASE, ["DELETE"], scope="manage")
def delete_events():
    return events.delete_config(caller_project(bp.current_request))
