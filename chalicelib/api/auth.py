from chalice import Blueprint

from ..services.expunge import expunge
from ..services.queues import queues
from ..services.tenancy import activation, projects, quotas, settings
from ..services.idempotency import idempotency
from .http import caller_project, preflighted, idempotency_key, json_body, once, route

bp = Blueprint(__name__)


@route(bp, "/v1/auth/activate", ["POST"], status=201, scope="public")
def activate():
    """No key needed: an anonymous trial project. The key is shown once, here."""
    req = bp.current_request
    preflighted(req)   # no cross-site page can activate through its visitors' browsers
    ip = ((req.context or {}).get("identity") or {}).get("sourceIp")
    # A client retrying after a lost answer gets the same project and key back. The scope is not
    # the address (a second caller behind the same NAT must not get the first one's key, and a
    # retry from a new address should): the long, random Idempotency-Key alone decides.
    return once(req, "anonymous", "auth.activate", lambda: activation.activate(ip), secrets=("api_key",))


@route(bp, "/v1/auth/me", ["GET"], scope="read")
def me():
    project = caller_project(bp.current_request)
    return {**projects.me(project), **settings.current(project), "usage": quotas.usage(project)}


@route(bp, "/v1/auth/project", ["PATCH"], scope="admin")
def update_project():
    """The project's settings (retention_days); answers with all of them."""
    req = bp.current_request
    return settings.update(caller_project(req), json_body(req))


@route(bp, "/v1/auth/project/expunge", ["POST"], status=202, scope="admin")
def start_expunge():
    """Delete everything of the project, in the background. Its keys are retired at once: from
    now on they read the report (GET below), until 30 days after the end, and open nothing else."""
    req = bp.current_request
    project = caller_project(req, expunged=True)   # a retried POST may come after the keys were retired
    body = json_body(req)
    idempotency_key(req, body)   # checked like every POST's; a second start answers with the same job
    return expunge.start(project, body)


@route(bp, "/v1/auth/project/expunge", ["GET"], scope="read")
def expunge_report():
    req = bp.current_request
    return expunge.get(caller_project(req, expunged=True))


@route(bp, "/v1/auth/keys", ["POST"], status=201, scope="admin")
def add_key():
    """A key with the scopes asked for (none: admin), and optionally the only queues it may publish to."""
    req = bp.current_request
    project = caller_project(req)
    body = json_body(req) if req.raw_body else {}
    grant = projects.check_grant(body, queues.check_name)
    return idempotency.once(project, "auth.keys", idempotency_key(req, body), {"path": req.path, **grant},
                            lambda: projects.add_key(project, grant), secrets=("api_key",))


@route(bp, "/v1/auth/keys", ["GET"], scope="read")
def list_keys():
    """Every key of the project (shortened), with its scopes and queues."""
    return projects.list_keys(caller_project(bp.current_request))


@route(bp, "/v1/auth/keys/{key_id}", ["DELETE"], scope="admin")
def revoke_key(key_id):
    return projects.revoke_key(caller_project(bp.current_request), key_id)
