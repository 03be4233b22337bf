"""Every error the SDK raises is an `InfraiError`; API errors carry the server's status, code,
message and field unchanged (`{"error": {"code", "message", "field"}}`)."""
from __future__ import annotations

from typing import Any, Optional


class InfraiError(Exception):
    status: Optional[int] = None
    default_code = "error"

    def __init__(self, message: str, *, status: Optional[int] = None, code: Optional[str] = None,
                 field: Optional[str] = None, body: Any = None, retry_after: Optional[float] = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.code = code or self.default_code
        self.field = field
        self.body = body
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" (field: {self.field})" if self.field else ""
        status = f"{self.status} " if self.status else ""
        return f"{status}{self.code}: {self.message}{where}"


class BadRequest(InfraiError):
    status = 400
    default_code = "invalid_request"


class Unauthorized(InfraiError):
    status = 401
    default_code = "unauthorized"


class MissingApiKey(Unauthorized):
    """Raised before any request when no key is configured."""
    status = None
    default_code = "missing_api_key"


class Forbidden(InfraiError):
    status = 403
    default_code = "forbidden"


class NotFound(InfraiError):
    status = 404
    default_code = "not_found"


class Conflict(InfraiError):
    status = 409
    default_code = "conflict"


class PayloadTooLarge(InfraiError):
    status = 413
    default_code = "payload_too_large"


class IdempotencyKeyReused(InfraiError):
    status = 422
    default_code = "idempotency_key_reused"


class RateLimited(InfraiError):
    status = 429
    default_code = "quota_exceeded"


class ServerError(InfraiError):
    status = 500
    default_code = "internal_error"


class ConnectionFailed(InfraiError):
    """The API could not be reached (refused, reset, timed out) after every retry."""
    default_code = "connection_failed"


class WebhookVerificationError(InfraiError):
    """A received webhook's signature or timestamp did not check out: do not trust the body."""
    default_code = "webhook_verification_failed"


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
              413: PayloadTooLarge, 422: IdempotencyKeyReused, 429: RateLimited}


def error_for_status(status: int) -> type[InfraiError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, InfraiError)
