from chalice import Blueprint

from ..services import activation, projects
from .http import caller_project, route

bp = Blueprint(__name__)


@route(bp, "/v1/auth/activate", ["POST"], status=201)
def activate():
    """No key needed: an anonymous trial project. The key is shown once, here."""
    identity = (bp.current_request.context or {}).get("identity") or {}
    return activation.activate(identity.get("sourceIp"))


@route(bp, "/v1/auth/me", ["GET"])
def me():
    return projects.me(caller_project(bp.current_request))


@route(bp, "/v1/auth/keys", ["POST"], status=201)
def add_key():
    return projects.add_key(caller_project(bp.current_request))


@route(bp, "/v1/auth/keys/{key_id}", ["DELETE"])
def revoke_key(key_id):
    return projects.revoke_key(caller_project(bp.current_request), key_id)
