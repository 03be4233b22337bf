"""Domain errors, one module. Each carries an HTTP status, a stable code and a message
that says how to fix the request. `chalicelib/api/errors.py` maps them to responses."""


class InfraiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message, field=None, **extra):
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_dict(self):
        # `field` always: the field at fault, or null where no single field is (a quota, a key)
        body = {"code": self.code, "message": self.message, "field": self.field or None}
        body.update(self.extra)
        return {"error": body}


class InvalidInput(InfraiError, ValueError):
    status = 400
    code = "invalid_request"


class InvalidSchedule(InvalidInput):
    code = "invalid_schedule"


class UnsafeTarget(InvalidInput):
    """A target URL that resolves to a loopback, private, link-local or otherwise
    non-public address on a stage that does not allow private targets."""
    code = "unsafe_target"


class PayloadTooLarge(InfraiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(InfraiError):
    status = 415
    code = "unsupported_media_type"


class Unauthorized(InfraiError):
    status = 401
    code = "unauthorized"


class Forbidden(InfraiError):
    """A valid key without the scope a route needs (core/scopes.py); `missing_scope` names it."""
    status = 403
    code = "forbidden"


class NotFound(InfraiError, LookupError):
    status = 404
    code = "not_found"


class Conflict(InfraiError):
    status = 409
    code = "conflict"


class IdempotencyMismatch(InfraiError):
    status = 422
    code = "idempotency_key_reused"


class QuotaExceeded(InfraiError):
    """`retry_after`: seconds until the limit frees (sent as Retry-After, never in the body).
    A limit that frees only when something is deleted says a day: retrying soon cannot succeed."""
    status = 429
    code = "quota_exceeded"
    NOT_BY_WAITING = 86400

    def __init__(self, message, field=None, *, retry_after: int | None = None, **extra):
        super().__init__(message, field, **extra)
        self.retry_after = max(1, int(retry_after)) if retry_after is not None else self.NOT_BY_WAITING


class ServiceUnavailable(InfraiError):
    """About our dependencies, not the request: retrying later can succeed."""
    status = 503
    code = "unavailable"
