"""The project and its keys: `infra.auth`, and `infra.activate()` (a new project, its key saved)."""
from __future__ import annotations

import sys
import warnings
from typing import Mapping, Optional, Sequence

from . import _config
from ._connection import Connection
from ._resource import Resource, as_dict, given


def activate(connection: Connection, force: bool = False) -> dict:
    """`infra.activate()`: see Infrai.activate. The connection uses the new key from now on,
    unless the key it has came from an argument or the environment (they win; a warning says so)."""
    path = connection.credentials_file or _config.credentials_path()
    existing = _config.read_credentials(path)
    if existing.get("api_key") and not force:
        print(f"infrai: already activated (project {existing.get('project_id', '?')}); key in {path}. "
              "Use infra.activate(force=True) for a new project.", file=sys.stderr)
        return {**existing, "created": False}
    result = connection.call("auth.activate", body={})
    saved = {"api_key": result["api_key"], "project_id": result.get("project_id"),
             "key_id": result.get("key_id"), "plan": result.get("plan"), "base_url": connection.base_url}
    _config.write_credentials(saved, path)
    if connection.key_source in ("argument", "environment"):
        # stacklevel 3: the caller of infra.activate(), not Infrai.activate
        warnings.warn(f"infrai: the new key was saved to {path}, but this client keeps using the key from "
                      f"the {connection.key_source}.", stacklevel=3)
    else:
        connection.use_key(result["api_key"], "credentials")
    print(f"infrai: activated project {result.get('project_id')} ({result.get('plan')} plan); "
          f"key saved to {path}", file=sys.stderr)
    return {**result, "created": True}


class Auth(Resource):
    """The project and its keys: `infra.auth` (activation is `infra.activate()`)."""

    def me(self) -> dict:
        """The project: plan, limits, usage, keys and settings (`retention_days`)."""
        return self._call("auth.me")

    def update_project(self, *, retention_days: Optional[Mapping[str, int]] = None,
                       signatures: Optional[Sequence[str]] = None) -> dict:
        """Change the project's settings, e.g. `retention_days={"succeeded": 7, "failed": 30}` (days
        a delivery is kept once it ended; either outcome alone) or `signatures=["v1", "v1a"]` (which
        Standard Webhooks signatures deliveries carry: v1 HMAC, v1a Ed25519). Returns every setting."""
        body = given(retention_days=as_dict(retention_days) if retention_days is not None else None,
                     signatures=list(signatures) if signatures is not None else None)
        if not body:
            raise TypeError("update_project() needs a setting to change, e.g. retention_days={'succeeded': 7}")
        return self._call("auth.project.update", body=body)

    def expunge_project(self, confirm: str, *, idempotency_key: Optional[str] = None) -> dict:
        """Delete everything of the project, its keys included, in the background: `confirm` is the
        project's id. This key then reads only `expunge_status()` (until 30 days after the end)."""
        return self._call("auth.project.expunge", body={"confirm": confirm}, idempotency_key=idempotency_key)

    def expunge_status(self) -> dict:
        """The project's expunge: `state` (running, completed), `phase` and `deleted` counts."""
        return self._call("auth.project.expunge_status")

    def create_key(self, *, scopes: Optional[Sequence[str]] = None, queues: Optional[Sequence[str]] = None,
                   name: Optional[str] = None, idempotency_key: Optional[str] = None) -> dict:
        """A new key, shown once (`api_key`). `scopes`: any of "read", "publish", "manage", "admin"
        (default: admin, which holds them all); `queues`: the only queues it may publish to (needs
        "publish"); `name`: a label. A key's scopes never change: make a new key, revoke the old."""
        body = given(scopes=list(scopes) if scopes is not None else None,
                     queues=list(queues) if queues is not None else None, name=name)
        return self._call("auth.keys.create", body=body, idempotency_key=idempotency_key)

    def list_keys(self) -> dict:
        """Every key of the project (shortened, never the key itself) with its scopes and queues."""
        return self._call("auth.keys.list")

    def revoke_key(self, key_id: str) -> dict:
        return self._call("auth.keys.revoke", {"key_id": key_id})

    def audit(self, *, since: Optional[str] = None, until: Optional[str] = None, key_id: Optional[str] = None,
              resource: Optional[str] = None, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        """The audit log, newest first: who changed the project's configuration (`entries`, each
        with `at`, `key_id`, `method`, `route`, `resource_id`, `status`, `source_ip`), and
        `next_cursor`. `since`/`until`: RFC 3339 strings."""
        params = {"since": since, "until": until, "key_id": key_id, "resource": resource, "limit": limit,
                  "cursor": cursor}
        return self._call("auth.audit.list", params=params)
