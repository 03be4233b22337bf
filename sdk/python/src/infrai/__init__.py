"""infrai: cron jobs, queues and signed webhooks.

    from infrai import infra                 # the default client (configured on first use)
    infra.cron.create("0 9 * * *", "https://example.com/digest")

    from infrai import Infrai
    client = Infrai(api_key="ifr_pk_proj_…", base_url="https://…")
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from . import webhooks
from ._client import Infrai
from ._routes import ROUTES
from ._version import __version__
from .errors import (BadRequest, Conflict, ConnectionFailed, Forbidden, IdempotencyKeyReused,
                     InfraiError, MissingApiKey, NotFound, PayloadTooLarge, RateLimited, ServerError,
                     Unauthorized, WebhookVerificationError)


class _DefaultClient:
    """`infra`: an `Infrai()` made on first use, so importing reads no file and no environment."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self._client: Infrai | None = None

    def _get(self) -> Infrai:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = Infrai()
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __repr__(self) -> str:
        return "<infrai default client>" if self._client is None else f"<infrai client {self._client.base_url}>"


if TYPE_CHECKING:
    infra: Infrai
else:
    infra = _DefaultClient()

__all__ = ["infra", "Infrai", "ROUTES", "webhooks", "InfraiError", "BadRequest", "Unauthorized", "MissingApiKey",
           "Forbidden", "NotFound", "Conflict", "PayloadTooLarge", "IdempotencyKeyReused", "RateLimited",
           "ServerError", "ConnectionFailed", "WebhookVerificationError", "__version__"]
