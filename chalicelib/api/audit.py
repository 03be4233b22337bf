"""`GET /v1/auth/audit`: who changed the project's configuration (services/audit/audit_log.py).
Its entries are written by chalicelib/api/http.py's `route`, not here. A `read` scope reads
it: an auditor's key should not also be able to change what it audits."""
from chalice import Blueprint

from ..services.audit import audit_log
from .http import caller_project, query, route

bp = Blueprint(__name__)


@route(bp, "/v1/auth/audit", ["GET"], scope="read")
def list_audit():
    req = bp.current_request
    return audit_log.list_(caller_project(req), query(req))
