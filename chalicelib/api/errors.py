"""Domain errors to HTTP, in one place: `{"error": {"code", "message", "field"}}`, as strict
JSON, with `Retry-After` on every 429. (Chalice turns exceptions into its own 500 before
middleware sees them, so routes are wrapped.)"""
import functools
import logging

from chalice import Response

from ..core import strict_json
from ..core.errors import InfraiError, QuotaExceeded

log = logging.getLogger(__name__)
JSON = {"Content-Type": "application/json"}
# A path no route has, or (on AWS, where API Gateway cannot tell them apart) a method a path does
# not have. The same text in deploy/gateway_responses.py: it names nothing from the request.
NO_ROUTE_MESSAGE = ("No route matches this method and path; see the API reference "
                    "(GET /v1/openapi.json).")
NO_ROUTE = strict_json.dumps({"error": {"code": "not_found", "message": NO_ROUTE_MESSAGE, "field": None}})


def error_response(e: InfraiError) -> Response:
    headers = dict(JSON)
    if isinstance(e, QuotaExceeded):
        headers["Retry-After"] = str(e.retry_after)
    return Response(body=strict_json.dumps(e.to_dict()), status_code=e.status, headers=headers)


def json_errors(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except InfraiError as e:
            return error_response(e)
        except Exception:  # noqa: BLE001 - never a stack trace to the client
            log.exception("unhandled error")
            return Response(body=strict_json.dumps({"error": {
                "code": "internal_error", "field": None,
                "message": "Something failed on our side; nothing was changed unless you were told so. "
                           "Try again."}}), status_code=500, headers=JSON)
    return wrapper


CHALICE_CODES = {405: "method_not_allowed", 415: "unsupported_media_type"}


def chalice_answers_in_our_format(event, get_response):
    """Chalice's router answers some requests itself (405 for a method a path does not have)
    in its own `{"Code", "Message"}` shape: give them ours."""
    response = get_response(event)
    body = response.body
    if response.status_code in CHALICE_CODES and isinstance(body, dict) and "Code" in body:
        allowed = response.headers.get("Allow", "")
        response.body = {"error": {"code": CHALICE_CODES[response.status_code], "field": None,
                                   "message": f"{body.get('Message')}. Allowed here: {allowed or 'see the API reference'}."}}
        response.headers["Content-Type"] = "application/json"
    return response
