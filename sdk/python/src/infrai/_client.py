"""The client: `Infrai(api_key=None, base_url=None)`, one resource a module (`_cron`, `_queue`,
`_webhook`, `_auth`, `_deliveries`, `_flows`, `_endpoints`, `_events`, `_topics`) over one connection
(`_connection`). Results are the API's JSON as plain dicts."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from . import _auth
from ._connection import Connection
from ._cron import Cron
from ._deliveries import Deliveries
from ._endpoints import Endpoints
from ._events import Events
from ._flows import Flows
from ._http import Transport
from ._queue import Queue
from ._topics import Topics
from ._webhook import Webhook


class Infrai:
    """A client for one project. Configuration: arguments, then INFRAI_API_KEY / INFRAI_BASE_URL,
    then ~/.infrai/credentials, then the local stack's http://127.0.0.1:8000."""

    def __init__(self, api_key: Optional[str] = None, base_url: Optional[str] = None, *,
                 timeout: float = 30.0, max_retries: int = 3, credentials_file: Optional[str] = None,
                 transport: Optional[Transport] = None):
        self._connection = Connection(api_key, base_url, Path(credentials_file) if credentials_file else None,
                                      transport or Transport(timeout=timeout, max_retries=max_retries))
        self.cron = Cron(self._connection)
        self.queue = Queue(self._connection)
        self.webhook = Webhook(self._connection)
        self.auth = _auth.Auth(self._connection)
        self.deliveries = Deliveries(self._connection)
        self.flows = Flows(self._connection)
        self.endpoints = Endpoints(self._connection)
        self.events = Events(self._connection)
        self.topics = Topics(self._connection)

    @property
    def base_url(self) -> str:
        return self._connection.base_url

    @property
    def api_key(self) -> Optional[str]:
        return self._connection.api_key

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        return self._connection.call(*args, **kwargs)

    def activate(self, force: bool = False) -> dict:
        """Create an anonymous trial project and save its key to ~/.infrai/credentials (mode 0600).
        On the local stack (`make run`) the key saved is the stack's own (its one project, plan
        `unlimited`, the key and secret its banner shows). An existing saved key is kept (and
        returned) unless `force=True`."""
        return _auth.activate(self._connection, force)

    def health(self) -> dict:
        return self._call("health.get")

    def openapi(self) -> dict:
        return self._call("openapi.get")
