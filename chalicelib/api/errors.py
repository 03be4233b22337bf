"""Domain errors to HTTP, in one place: `{"error": {"code", "message", "field"}}`.
(Chalice turns exceptions into its own 500 before middleware sees them, so routes are wrapped.)"""
import functools
import logging

from chalice import Response

from ..core.errors import InfraiError

log = logging.getLogger(__name__)
JSON = {"Content-Type": "application/json"}


def error_response(e: InfraiError) -> Response:
    return Response(body=e.to_dict(), status_code=e.status, headers=JSON)


def json_errors(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except InfraiError as e:
            return error_response(e)
        except Exception:  # noqa: BLE001 - never a stack trace to the client
            log.exception("unhandled error")
            return Response(body={"error": {"code": "internal_error",
                                            "message": "Something failed on our side; nothing was "
                                                       "changed unless you were told so. Try again."}},
                            status_code=500, headers=JSON)
    return wrapper
