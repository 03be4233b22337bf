"""What every route needs: the caller's project (decided here and nowhere else), the JSON
body, query parameters, and JSON responses. Errors become responses in `errors.py`."""
import contextvars

from chalice import Response

from ..core import scopes, strict_json, validation
from ..core.errors import UnsupportedMediaType
from ..services.audit import audit_log
from ..services.tenancy import projects
from ..services.idempotency import idempotency
from .errors import error_response, json_errors

# No content-type check by Chalice (it would answer 415 in its own format, even on GETs and
# before the key is checked): bodies are parsed as JSON here and refused in our format.
CONTENT_TYPES: list[str] = []
BODY_METHODS = ("POST", "PUT", "PATCH")


def json_bodies_only(event, get_response):
    """A body must be declared JSON. A browser sends a cross-site form or `fetch(no-cors)` as
    text/plain, application/x-www-form-urlencoded or multipart/form-data without asking first (a
    "simple" request); answering those with 415 before anything runs means no page can drive the
    API with its visitors' browsers. An empty body needs no Content-Type (trigger, pause, ...)."""
    if event.method in BODY_METHODS and event.raw_body:
        declared = _header(event, "content-type") or ""
        if declared.split(";", 1)[0].strip().lower() != "application/json":
            shown = declared.split(";", 1)[0].strip()[:60] or "none"
            return error_response(UnsupportedMediaType(
                f"The request body must be JSON sent with 'Content-Type: application/json' (got {shown!r}); "
                "set the header, or send no body.", field=None))
    return get_response(event)


def preflighted(request) -> None:
    """For a route that needs no key (activation): it must carry what a web page cannot send to
    another site without the browser asking first (a CORS preflight, which this API never
    grants) — `Content-Type: application/json` or an Idempotency-Key — even with no body. A
    page can then never make its visitors' browsers activate projects (the SDKs send both)."""
    declared = (_header(request, "content-type") or "").split(";", 1)[0].strip().lower()
    if declared != "application/json" and not _header(request, "idempotency-key"):
        raise UnsupportedMediaType("Send this request with 'Content-Type: application/json' (a body of {} or "
                                   "none), or with an Idempotency-Key header.", field=None)


class _Call:
    """What `route` knows of the request in flight: the scope its route declared, and (once
    `caller_project` has run) the caller's key and the resource the request named."""

    def __init__(self, scope: str | None, queue_publish: bool):
        self.scope, self.queue_publish = scope, queue_publish
        self.caller: dict | None = None
        self.resource: str | None = None


_call: contextvars.ContextVar = contextvars.ContextVar("infrai_call", default=None)


def caller_project(request, expunged: bool = False) -> str:
    """The one place that decides whose data a request may touch, and whether its key may do
    what the route does (the route's declared scope; core/scopes.py): 401 without a valid key,
    403 without the scope. `expunged`: a key retired by its project's expunge is taken too (only
    the expunge's own routes ask for it)."""
    call = _call.get()
    needed = (call.scope if call else None) or scopes.ADMIN   # undeclared: the strictest
    authorizer = (request.context or {}).get("authorizer") or {}
    if authorizer.get("project_id"):   # an authorizer's context holds strings only
        listed = authorizer.get("scopes")
        who = {"project_id": authorizer["project_id"], "key_id": authorizer.get("key_id"),
               "scopes": listed.split(",") if listed else None,
               "queues": authorizer["queues"].split(",") if authorizer.get("queues") else None}
    else:
        header = _header(request, "authorization")
        who = projects.caller_expunged(header) if expunged else projects.caller(header)
    if call:
        call.caller = who
    scopes.require(who["scopes"], needed)
    if needed == scopes.PUBLISH and not (call and call.queue_publish):
        scopes.require_unrestricted(who["queues"])
    return who["project_id"]


def publishing_to(names: list[tuple[str, str]]) -> None:
    """A publish route's queues, as (field, name): 403 for one the caller's key may not publish
    to (a key made with `queues`). Called by the routes declared `queue_publish=True`."""
    call = _call.get()
    scopes.require_queues(call.caller["queues"] if call and call.caller else None, names)


def _header(request, name):
    return (request.headers or {}).get(name)


def json_body(request, max_bytes: int = validation.MAX_REQUEST_BYTES, slots: str | None = None) -> dict:
    return validation.parse_json_body(request.raw_body, max_bytes, slots)


def idempotency_key(request, body: dict | None = None) -> str | None:
    """From the body's `idempotency_key` or the Idempotency-Key header. A POST without fields of
    its own (trigger, retry, pause, ...) may still send `{"idempotency_key": ...}` as its body;
    its other fields are not read."""
    if body is None:
        body = json_body(request) if request.raw_body else {}
    return validation.idempotency_key(body, _header(request, "idempotency-key"))


def once(request, scope: str, operation: str, fn, secrets=()):
    """A POST without fields of its own, made idempotent by its key (header or body). `secrets`:
    response fields that are never stored in clear (a new key, a new signing secret)."""
    return idempotency.once(scope, operation, idempotency_key(request), {"path": request.path}, fn,
                            secrets=secrets)


def query(request) -> dict:
    return dict(request.query_params or {})


def respond(body: dict, status: int = 200) -> Response:
    """Always strict JSON (no NaN, no Infinity), whatever a record holds."""
    return Response(body=strict_json.dumps(body), status_code=status, headers={"Content-Type": "application/json"})


# (path, METHOD) -> the scope its route declared (None: undeclared, treated as admin). A test
# holds every route to declaring one (tests/functional/test_scoped_keys.py), and docs/security.md's
# table to saying the same.
DECLARED: dict[tuple[str, str], str | None] = {}
RESOURCE_FIELDS = ("cron_id", "key_id", "replay_id")   # a create's new id, where its path names none


def audited(method: str, scope: str | None) -> bool:
    """A request that changes configuration: not a read, and a route of `manage` or `admin`
    (publishes, sends and retries are deliveries, on record as such)."""
    return method != "GET" and scope not in (scopes.PUBLIC, scopes.READ, scopes.PUBLISH)


def on_record(status: int) -> bool:
    """What of an audited route's answers is written: what was done (2xx), and a key's attempt
    beyond its scopes (403). Other refusals (400, 404, 409, 429, ...) change nothing, the log
    included, as every refused request."""
    return 200 <= status < 300 or status == 403


def route(bp, path: str, methods: list[str], status: int = 200, *, scope: str | None = None,
          queue_publish: bool = False):
    """`@bp.route` with our error format, a default status for dict results, the scope a key
    needs (core/scopes.py: checked by `caller_project`) and, for a change of configuration, its
    audit entry (services/audit/audit_log.py). `queue_publish`: a `publish` route that names its
    queues through `publishing_to`, so a key limited to some queues may use it."""
    if scope is not None and scope not in scopes.ROUTE_SCOPES:
        raise ValueError(f"route {path}: scope must be one of {', '.join(scopes.ROUTE_SCOPES)}")
    for method in methods:
        DECLARED[(path, method)] = scope

    def decorate(view):
        def respond_with_status(*args, **kwargs):
            result = view(*args, **kwargs)
            call = _call.get()
            if call and isinstance(result, dict) and call.resource is None:
                call.resource = next((result[f] for f in RESOURCE_FIELDS if isinstance(result.get(f), str)), None)
            return result if isinstance(result, Response) else respond(result, status)
        answer = json_errors(respond_with_status)

        def run(*args, **kwargs):
            call = _Call(scope, queue_publish)
            call.resource = next(iter(kwargs.values()), None)   # the path's parameter, if any
            token = _call.set(call)
            try:
                response = answer(*args, **kwargs)
            finally:
                _call.reset(token)
            request = bp.current_request
            if call.caller and audited(request.method, scope) and on_record(response.status_code):
                _audit(request, path, call, response.status_code)
            return response
        run.__name__ = view.__name__
        run.__doc__ = view.__doc__
        return bp.route(path, methods=methods, content_types=CONTENT_TYPES)(run)
    return decorate


def _audit(request, path: str, call: _Call, status: int) -> None:
    identity = (request.context or {}).get("identity") or {}
    audit_log.record_safely(call.caller["project_id"], key_id=call.caller.get("key_id"), method=request.method,
                            route=path, resource_id=call.resource, status=status,
                            source_ip=identity.get("sourceIp"))
