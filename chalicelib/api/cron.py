from chalice import Blueprint

from ..core import traces
from ..services.cron import cron, cron_catchup, cron_runs
from .http import caller_project, idempotency_key, json_body, once, query, route

bp = Blueprint(__name__)
BASE = "/v1/scheduling/cron"


@route(bp, BASE, ["POST"], status=201, scope="manage")
def create():
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    return cron.create(project, body, idempotency_key(req, body))


@route(bp, BASE, ["GET"], scope="read")
def list_jobs():
    req = bp.current_request
    return cron.list_(caller_project(req), query(req))


@route(bp, f"{BASE}/{{cron_id}}", ["GET"], scope="read")
def get(cron_id):
    return cron.get(caller_project(bp.current_request), cron_id)


@route(bp, f"{BASE}/{{cron_id}}", ["PATCH"], scope="manage")
def update(cron_id):
    req = bp.current_request
    project = caller_project(req)
    return cron.update(project, cron_id, json_body(req))


@route(bp, f"{BASE}/{{cron_id}}", ["DELETE"], scope="manage")
def delete(cron_id):
    cron.delete(caller_project(bp.current_request), cron_id)
    return {"deleted": cron_id}


@route(bp, f"{BASE}/{{cron_id}}/pause", ["POST"], scope="manage")
def pause(cron_id):
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "cron.pause", lambda: cron.set_enabled(project, cron_id, False))


@route(bp, f"{BASE}/{{cron_id}}/resume", ["POST"], scope="manage")
def resume(cron_id):
    req = bp.current_request
    project = caller_project(req)
    return once(req, project, "cron.resume", lambda: cron.set_enabled(project, cron_id, True))


@route(bp, f"{BASE}/{{cron_id}}/trigger", ["POST"], status=202, scope="manage")
def trigger(cron_id):
    req = bp.current_request
    project = caller_project(req)
    return cron_runs.trigger(project, cron_id, idempotency_key(req), traces.from_headers(req.headers))


@route(bp, f"{BASE}/{{cron_id}}/runs", ["GET"], scope="read")
def runs(cron_id):
    req = bp.current_request
    return cron_runs.runs(caller_project(req), cron_id, query(req))


@route(bp, f"{BASE}/{{cron_id}}/backfill", ["POST"], scope="manage")
def backfill(cron_id):
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req)
    idempotency_key(req, body)   # checked like everywhere; a backfill asked twice fires nothing twice
    return cron_catchup.backfill(project, cron_id, body)
