"""What every route needs: the caller's project (decided here and nowhere else), the JSON
body, query parameters, and JSON responses. Errors become responses in `errors.py`."""
from chalice import Response

from ..core import strict_json, validation
from ..core.errors import UnsupportedMediaType
from ..services.tenancy import idempotency, projects
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


def caller_project(request, expunged: bool = False) -> str:
    """The one place that decides whose data a request may touch. `expunged`: a key retired by
    its project's expunge is taken too (only the expunge's own routes ask for it)."""
    authorizer = (request.context or {}).get("authorizer") or {}
    if authorizer.get("project_id"):
        return authorizer["project_id"]
    header = _header(request, "authorization")
    return projects.authenticate_expunged(header) if expunged else projects.authenticate(header)


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


def route(bp, path: str, methods: list[str], status: int = 200):
    """`@bp.route` with our error format and a default status for dict results."""
    def decorate(view):
        def respond_with_status(*args, **kwargs):
            result = view(*args, **kwargs)
            return result if isinstance(result, Response) else respond(result, status)
        respond_with_status.__name__ = view.__name__
        respond_with_status.__doc__ = view.__doc__
        return bp.route(path, methods=methods, content_types=CONTENT_TYPES)(json_errors(respond_with_status))
    return decorate
