"""A project's connection to the API: its base URL and key (arguments, environment, credentials
file: `_config`), and one call = one operation of ROUTES over the retrying HTTP layer (`_http`).
Every resource (`_cron`, `_queue`, …) calls through it."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import quote

from . import _config
from ._http import Transport
from ._routes import PUBLIC, ROUTES
from .errors import MissingApiKey

HOW_TO_GET_A_KEY = ("No infrai API key found. Get one with `python -c \"from infrai import infra; "
                    "infra.activate()\"` (creates a trial project and saves its key in ~/.infrai/credentials), "
                    "or set INFRAI_API_KEY=ifr_pk_proj_… (or pass Infrai(api_key=...)).")


def new_idempotency_key() -> str:
    return "idem_" + uuid.uuid4().hex


class Connection:
    def __init__(self, api_key: Optional[str], base_url: Optional[str], credentials_file: Optional[Path],
                 transport: Transport):
        self.credentials_file = credentials_file
        self._key, self.base_url, self.key_source = _config.resolve(api_key, base_url, credentials_file)
        self._transport = transport

    @property
    def api_key(self) -> Optional[str]:
        if not self._key:   # a key written since (e.g. by activate in another process)
            self._key, _, self.key_source = _config.resolve(None, self.base_url, self.credentials_file)
        return self._key

    def use_key(self, api_key: str, source: str) -> None:
        self._key, self.key_source = api_key, source

    def call(self, operation: str, path_params: Optional[Mapping[str, str]] = None, *,
             body: Any = None, params: Optional[Mapping[str, Any]] = None,
             idempotency_key: Optional[str] = None,
             headers: Optional[Mapping[str, Optional[str]]] = None) -> Any:
        """`headers`: the operation's own header parameters (`traceparent`, `tracestate`); None
        values are left out."""
        method, template = ROUTES[operation]
        extra = {k: v for k, v in (headers or {}).items() if v is not None}
        path = template.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        headers = dict(extra)
        if operation not in PUBLIC:
            key = self.api_key
            if not key:
                raise MissingApiKey(HOW_TO_GET_A_KEY)
            headers["Authorization"] = f"Bearer {key}"
        if method == "POST":
            # one key per call, reused by every retry of it; the server takes it as a header on
            # every POST (body-less ones too: trigger, retry, cancel, pause, resume)
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return self._transport.request(method, self.base_url + path, headers=headers,
                                       params=query or None, json_body=body)
