"""The client: `Infrai(api_key=None, base_url=None)` with `.cron`, `.queue`, `.webhook`, `.auth`,
`.deliveries`, `.events`.
Results are the API's JSON as plain dicts."""
from __future__ import annotations

import sys
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union
from urllib.parse import quote, urlsplit

from . import _config
from ._http import Transport
from ._routes import PUBLIC, ROUTES
from .errors import MissingApiKey

_UNSET: Any = object()

HOW_TO_GET_A_KEY = ("No infrai API key found. Get one with `python -c \"from infrai import infra; "
                    "infra.activate()\"` (creates a trial project and saves its key in ~/.infrai/credentials), "
                    "or set INFRAI_API_KEY=ifr_pk_proj_… (or pass Infrai(api_key=...)).")


def new_idempotency_key() -> str:
    return "idem_" + uuid.uuid4().hex


def _drop_unset(fields: Mapping[str, Any]) -> dict:
    return {k: v for k, v in fields.items() if v is not _UNSET}


def _given(**fields: Any) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def _target(task: str) -> dict:
    """A task is a URL when it starts with http:// or https://, else a queue name."""
    if task.lower().startswith(("http://", "https://")):
        return {"url": task}
    return {"queue": task}


def _renamed(value: Any, old: Any, old_name: str, new_name: str) -> Any:
    """`old_name` is the seed's spelling of the API field `new_name`; both work, one at a time."""
    if old is _UNSET or old is None:
        return value
    if value is not _UNSET and value is not None and value != old:
        raise TypeError(f"pass {new_name}= (the API's name) or {old_name}= (its older spelling), not both")
    return old


def _rfc3339(value: Union[str, datetime], name: str) -> str:
    """An aware datetime as RFC 3339 UTC; a string as given (the API checks it)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware, e.g. datetime(..., tzinfo=timezone.utc)")
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def default_name(task: str) -> str:
    """A readable job name from its target: the queue name, or host + path of the URL."""
    if task.lower().startswith(("http://", "https://")):
        parts = urlsplit(task)
        name = (parts.netloc + parts.path).rstrip("/") or task
    else:
        name = task
    return name[:128]


class Infrai:
    """A client for one project. Configuration: arguments, then INFRAI_API_KEY / INFRAI_BASE_URL,
    then ~/.infrai/credentials, then the local stack's http://127.0.0.1:8000."""

    def __init__(self, api_key: Optional[str] = None, base_url: Optional[str] = None, *,
                 timeout: float = 30.0, max_retries: int = 3, credentials_file: Optional[str] = None,
                 transport: Optional[Transport] = None):
        self._explicit_key, self._explicit_url = api_key, base_url
        self._credentials_file = Path(credentials_file) if credentials_file else None
        self._key, self._base_url, self._key_source = _config.resolve(api_key, base_url, self._credentials_file)
        self._transport = transport or Transport(timeout=timeout, max_retries=max_retries)
        self.cron = Cron(self)
        self.queue = Queue(self)
        self.webhook = Webhook(self)
        self.auth = Auth(self)
        self.deliveries = Deliveries(self)
        self.flows = Flows(self)
        self.endpoints = Endpoints(self)
        self.events = Events(self)

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def api_key(self) -> Optional[str]:
        if not self._key:   # a key written since (e.g. by activate in another process)
            self._key, _, self._key_source = _config.resolve(None, self._base_url, self._credentials_file)
        return self._key

    # ------------------------------------------------------------------ plumbing
    def _call(self, operation: str, path_params: Optional[Mapping[str, str]] = None, *,
              body: Any = None, params: Optional[Mapping[str, Any]] = None,
              idempotency_key: Optional[str] = None) -> Any:
        method, template = ROUTES[operation]
        path = template.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        headers = {}
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
        return self._transport.request(method, self._base_url + path, headers=headers,
                                       params=query or None, json_body=body)

    # ------------------------------------------------------------------ account
    def activate(self, force: bool = False) -> dict:
        """Create an anonymous trial project and save its key to ~/.infrai/credentials (mode 0600).
        On the local stack (`make run`) the key saved is the stack's own (its one project, plan
        `unlimited`, the key and secret its banner shows). An existing saved key is kept (and
        returned) unless `force=True`."""
        path = self._credentials_file or _config.credentials_path()
        existing = _config.read_credentials(path)
        if existing.get("api_key") and not force:
            print(f"infrai: already activated (project {existing.get('project_id', '?')}); key in {path}. "
                  "Use infra.activate(force=True) for a new project.", file=sys.stderr)
            return {**existing, "created": False}
        result = self._call("auth.activate", body={})
        saved = {"api_key": result["api_key"], "project_id": result.get("project_id"),
                 "key_id": result.get("key_id"), "plan": result.get("plan"), "base_url": self._base_url}
        _config.write_credentials(saved, path)
        if self._key_source in ("argument", "environment"):
            warnings.warn(f"infrai: the new key was saved to {path}, but this client keeps using the key from "
                          f"the {self._key_source}.", stacklevel=2)
        else:
            self._key, self._key_source = result["api_key"], "credentials"
        print(f"infrai: activated project {result.get('project_id')} ({result.get('plan')} plan); "
              f"key saved to {path}", file=sys.stderr)
        return {**result, "created": True}

    def health(self) -> dict:
        return self._call("health.get")

    def openapi(self) -> dict:
        return self._call("openapi.get")


class _Resource:
    def __init__(self, client: Infrai):
        self._client = client

    def _call(self, *args, **kwargs):
        return self._client._call(*args, **kwargs)


class Cron(_Resource):
    """Cron jobs: `infra.cron`."""

    def create(self, cron_expr: str, task: str, *, name: Optional[str] = None, timezone: str = "UTC",
               retries: Optional[int] = None, timeout_seconds: int = 300, payload: Any = None,
               idempotency_key: Optional[str] = None, enabled: Optional[bool] = None,
               flow_key: Optional[str] = None, retry: Optional[int] = None,
               catch_up_window_seconds: Optional[int] = None, retry_schedule: Any = None,
               callback_url: Optional[str] = None, failure_callback_url: Optional[str] = None) -> dict:
        """A job that POSTs to `task` (a URL) or publishes into `task` (a queue name) on `cron_expr`
        (the body's `schedule`). `retries` defaults to 3; `retry` is the seed's spelling of it.
        `catch_up_window_seconds`: runs missed while paused or down, at most this old, are fired
        on resume or recovery (default 0: skipped). `retry_schedule`: "svix" (default),
        "exponential" or a list of gaps in seconds; the callback URLs are called when a run's
        delivery succeeds / fails for good."""
        retries = _renamed(retries, retry, "retry", "retries")
        retries = 3 if retries is None else retries
        body = {"name": name if name is not None else default_name(task), "schedule": cron_expr,
                **_target(task), "timezone": timezone, "retries": retries, "timeout_seconds": timeout_seconds}
        if enabled is not None:
            body["enabled"] = enabled
        if payload is not None:
            body["payload"] = payload
        if catch_up_window_seconds is not None:
            body["catch_up_window_seconds"] = catch_up_window_seconds
        if flow_key is not None:
            body["flow_key"] = flow_key
        body.update(_given(retry_schedule=retry_schedule, callback_url=callback_url,
                           failure_callback_url=failure_callback_url))
        return self._call("scheduling.cron.create", body=body, idempotency_key=idempotency_key)

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.cron.list", params={"limit": limit, "cursor": cursor})

    def get(self, cron_id: str) -> dict:
        return self._call("scheduling.cron.get", {"cron_id": cron_id})

    def update(self, cron_id: str, *, schedule: str = _UNSET, url: str = _UNSET, queue: str = _UNSET,
               name: str = _UNSET, timezone: str = _UNSET, retries: int = _UNSET, timeout_seconds: int = _UNSET,
               payload: Any = _UNSET, enabled: bool = _UNSET, flow_key: Optional[str] = _UNSET,
               cron_expr: str = _UNSET, task: str = _UNSET, retry: int = _UNSET,
               catch_up_window_seconds: int = _UNSET, retry_schedule: Any = _UNSET,
               callback_url: Optional[str] = _UNSET, failure_callback_url: Optional[str] = _UNSET) -> dict:
        """Change only what is given. `cron_expr`, `task` and `retry` are create()'s spellings of
        `schedule`, `url`/`queue` and `retries`."""
        body = _drop_unset({"schedule": _renamed(schedule, cron_expr, "cron_expr", "schedule"), "url": url,
                            "queue": queue, "name": name, "timezone": timezone,
                            "retries": _renamed(retries, retry, "retry", "retries"),
                            "timeout_seconds": timeout_seconds, "payload": payload, "enabled": enabled,
                            "flow_key": flow_key, "catch_up_window_seconds": catch_up_window_seconds,
                            "retry_schedule": retry_schedule, "callback_url": callback_url,
                            "failure_callback_url": failure_callback_url})
        if task is not _UNSET:
            body.update(_target(task))
        return self._call("scheduling.cron.update", {"cron_id": cron_id}, body=body)

    def delete(self, cron_id: str) -> dict:
        return self._call("scheduling.cron.delete", {"cron_id": cron_id})

    def pause(self, cron_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("scheduling.cron.pause", {"cron_id": cron_id}, idempotency_key=idempotency_key)

    def resume(self, cron_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("scheduling.cron.resume", {"cron_id": cron_id}, idempotency_key=idempotency_key)

    def trigger(self, cron_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        """Run once now (also when paused); returns the run."""
        return self._call("scheduling.cron.trigger", {"cron_id": cron_id}, idempotency_key=idempotency_key)

    def backfill(self, cron_id: str, since: Union[str, datetime], until: Union[str, datetime], *,
                 idempotency_key: Optional[str] = None) -> dict:
        """Fire the job's scheduled runs in [since, until) (past times, at most 1,000 runs), each
        once: runs that exist already are counted, not fired again. `since`/`until`: RFC 3339
        strings or aware datetimes. Returns {runs, fired, existing, skipped, ...}."""
        body = {"since": _rfc3339(since, "since"), "until": _rfc3339(until, "until")}
        return self._call("scheduling.cron.backfill", {"cron_id": cron_id}, body=body,
                          idempotency_key=idempotency_key)

    def runs(self, cron_id: str, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.cron.runs", {"cron_id": cron_id}, params={"limit": limit, "cursor": cursor})


class Queue(_Resource):
    """Queues and their messages: `infra.queue`."""

    def publish(self, queue: str, payload: Any, *, delay_seconds: Optional[int] = None,
                idempotency_key: Optional[str] = None, callback_url: Optional[str] = None,
                failure_callback_url: Optional[str] = None) -> dict:
        """`callback_url` / `failure_callback_url`: called (signed POST) when the message is
        delivered / fails for good."""
        body = {"queue": queue, "payload": payload}
        body.update(_given(delay_seconds=delay_seconds, callback_url=callback_url,
                           failure_callback_url=failure_callback_url))
        return self._call("scheduling.queue.publish", body=body, idempotency_key=idempotency_key)

    def publish_batch(self, messages: Iterable[Mapping[str, Any]], *,
                      idempotency_key: Optional[str] = None) -> dict:
        """Up to 100 `{"queue", "payload", "delay_seconds"?, "callback_url"?, "failure_callback_url"?}`;
        a bad one is reported in its slot."""
        return self._call("scheduling.queue.publish_batch", body={"messages": [dict(m) for m in messages]},
                          idempotency_key=idempotency_key)

    def create(self, name: str, url: Optional[str] = None, *, retries: Optional[int] = None,
               timeout_seconds: Optional[int] = None, paused: Optional[bool] = None,
               rate_limit: Optional[Mapping[str, int]] = None, parallelism: Optional[int] = None,
               circuit_breaker: Optional[Mapping[str, int]] = None, retry: Optional[int] = None,
               retry_schedule: Any = None) -> dict:
        """Create (or change) a queue; with `url` its messages are POSTed there, without it they are held.
        `rate_limit={"count": 10, "period_seconds": 1}` and `parallelism` limit its sends
        (`parallelism=1`: FIFO). `retry` is an older spelling of `retries`."""
        retries = _renamed(retries, retry, "retry", "retries")
        body = {k: v for k, v in {"url": url, "retries": retries, "timeout_seconds": timeout_seconds,
                                  "paused": paused, "rate_limit": dict(rate_limit) if rate_limit else None,
                                  "parallelism": parallelism,
                                  "circuit_breaker": dict(circuit_breaker) if circuit_breaker else None,
                                  "retry_schedule": retry_schedule}.items()
                if v is not None}
        return self._call("scheduling.queue.put", {"name": name}, body=body)

    def update(self, name: str, *, url: Optional[str] = _UNSET, retries: int = _UNSET,
               timeout_seconds: int = _UNSET, paused: bool = _UNSET,
               rate_limit: Optional[Mapping[str, int]] = _UNSET, parallelism: Optional[int] = _UNSET,
               circuit_breaker: Optional[Mapping[str, int]] = _UNSET, retry: int = _UNSET,
               retry_schedule: Any = _UNSET) -> dict:
        """Change only what is given; `url=None` detaches the endpoint (messages are held);
        `rate_limit=None` / `parallelism=None` lift a limit; `retry_schedule=None` goes back to
        the default schedule."""
        body = _drop_unset({"url": url, "retries": _renamed(retries, retry, "retry", "retries"),
                            "timeout_seconds": timeout_seconds, "paused": paused,
                            "rate_limit": dict(rate_limit) if rate_limit not in (None, _UNSET) else rate_limit,
                            "parallelism": parallelism,
                            "circuit_breaker": (dict(circuit_breaker) if circuit_breaker not in (None, _UNSET)
                                                else circuit_breaker),
                            "retry_schedule": retry_schedule})
        return self._call("scheduling.queue.put", {"name": name}, body=body)

    def get(self, name: str) -> dict:
        return self._call("scheduling.queue.get", {"name": name})

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.queue.list", params={"limit": limit, "cursor": cursor})

    def delete(self, name: str, *, force: bool = False) -> dict:
        return self._call("scheduling.queue.delete", {"name": name}, params={"force": "true" if force else None})

    def messages(self, name: str, *, state: Optional[str] = None, limit: Optional[int] = None,
                 cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.queue.messages", {"name": name},
                          params={"state": state, "limit": limit, "cursor": cursor})

    def message(self, message_id: str) -> dict:
        return self._call("scheduling.queue.message", {"message_id": message_id})

    def cancel(self, message_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("scheduling.queue.cancel", {"message_id": message_id}, idempotency_key=idempotency_key)

    def retry(self, message_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("scheduling.queue.retry", {"message_id": message_id}, idempotency_key=idempotency_key)


class Webhook(_Resource):
    """Outbound webhooks: `infra.webhook`."""

    def send(self, url: str, payload: Any, *, headers: Optional[Mapping[str, str]] = None,
             retries: Optional[int] = None, timeout_seconds: Optional[int] = None,
             delay_seconds: Optional[int] = None, idempotency_key: Optional[str] = None,
             flow_key: Optional[str] = None, retry: Optional[int] = None, retry_schedule: Any = None,
             callback_url: Optional[str] = None, failure_callback_url: Optional[str] = None) -> dict:
        """The body's fields, by the API's names (`retry` is an older spelling of `retries`)."""
        body = {"url": url, "payload": payload}
        options = {"headers": dict(headers) if headers is not None else None,
                   "retries": _renamed(retries, retry, "retry", "retries"),
                   "timeout_seconds": timeout_seconds, "delay_seconds": delay_seconds, "flow_key": flow_key,
                   "retry_schedule": retry_schedule, "callback_url": callback_url,
                   "failure_callback_url": failure_callback_url}
        body.update({k: v for k, v in options.items() if v is not None})
        return self._call("scheduling.webhook.send", body=body, idempotency_key=idempotency_key)

    def get(self, delivery_id: str) -> dict:
        return self._call("scheduling.webhook.get", {"delivery_id": delivery_id})

    def list(self, *, state: Optional[str] = None, limit: Optional[int] = None,
             cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.webhook.list", params={"state": state, "limit": limit, "cursor": cursor})

    def retry(self, delivery_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("scheduling.webhook.retry", {"delivery_id": delivery_id}, idempotency_key=idempotency_key)

    def secret(self) -> dict:
        """`{"secret": "whsec_…"}`: what receivers verify signatures with."""
        return self._call("scheduling.webhook.secret")

    def rotate_secret(self, *, idempotency_key: Optional[str] = None) -> dict:
        """A new secret; for 24 h deliveries carry both signatures."""
        return self._call("scheduling.webhook.rotate_secret", idempotency_key=idempotency_key)


class Endpoints(_Resource):
    """Target endpoints that have failed, with their circuit breakers: `infra.endpoints`."""

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.endpoints.list", params={"limit": limit, "cursor": cursor})

    def release(self, endpoint_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        """Close its breaker by hand; what it held goes, in publish order."""
        return self._call("scheduling.endpoints.release", {"endpoint_id": endpoint_id},
                          idempotency_key=idempotency_key)


class Flows(_Resource):
    """Named flows: one rate limit / parallelism shared by every webhook send and cron job that
    names it in `flow_key`: `infra.flows`."""

    def put(self, key: str, *, rate_limit: Optional[Mapping[str, int]] = _UNSET,
            parallelism: Optional[int] = _UNSET) -> dict:
        """Create the flow or change what is given (None lifts a limit)."""
        body = _drop_unset({"rate_limit": dict(rate_limit) if rate_limit not in (None, _UNSET) else rate_limit,
                            "parallelism": parallelism})
        return self._call("scheduling.flows.put", {"key": key}, body=body)

    def get(self, key: str) -> dict:
        return self._call("scheduling.flows.get", {"key": key})

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.flows.list", params={"limit": limit, "cursor": cursor})

    def delete(self, key: str) -> dict:
        return self._call("scheduling.flows.delete", {"key": key})


class Deliveries(_Resource):
    """Every delivery of the project, whatever made it: `infra.deliveries`. Filters: `state`,
    `kind` (webhook, queue, cron, callback, event), `queue`, `cron_id`, `host`, `status_code` (int, or "none"),
    `since`, `until` (RFC 3339 strings)."""

    def list(self, *, state: Optional[str] = None, kind: Optional[str] = None, queue: Optional[str] = None,
             cron_id: Optional[str] = None, host: Optional[str] = None, status_code: Any = None,
             since: Optional[str] = None, until: Optional[str] = None, limit: Optional[int] = None,
             cursor: Optional[str] = None) -> dict:
        params = {"state": state, "kind": kind, "queue": queue, "cron_id": cron_id, "host": host,
                  "status_code": status_code, "since": since, "until": until, "limit": limit, "cursor": cursor}
        return self._call("scheduling.deliveries.list", params=params)

    def replay(self, *, state: Optional[str] = None, kind: Optional[str] = None, queue: Optional[str] = None,
               cron_id: Optional[str] = None, host: Optional[str] = None, status_code: Any = None,
               since: Optional[str] = None, until: Optional[str] = None,
               idempotency_key: Optional[str] = None) -> dict:
        """Replay every failed delivery matching the filters, in the background: returns the job
        (`replay_id`); follow it with `replay_status`."""
        filters = {"state": state, "kind": kind, "queue": queue, "cron_id": cron_id, "host": host,
                   "status_code": status_code, "since": since, "until": until}
        body = {k: v for k, v in filters.items() if v is not None}
        return self._call("scheduling.deliveries.replay", body=body, idempotency_key=idempotency_key)

    def replay_status(self, replay_id: str) -> dict:
        return self._call("scheduling.replays.get", {"replay_id": replay_id})


class Events(_Resource):
    """The project's operational events (delivery.failed, endpoint.held, endpoint.released,
    cron.run_skipped, replay.finished), POSTed signed to one URL: `infra.events`."""

    def set(self, url: str) -> dict:
        return self._call("scheduling.events.put", body={"url": url})

    def get(self) -> dict:
        """`{"url": ... or None, "event_types": [...], "updated_at": ...}`"""
        return self._call("scheduling.events.get")

    def delete(self) -> dict:
        """No more events (those already made are still delivered)."""
        return self._call("scheduling.events.delete")


class Auth(_Resource):
    """The project and its keys: `infra.auth` (activation is `infra.activate()`)."""

    def me(self) -> dict:
        return self._call("auth.me")

    def create_key(self, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("auth.keys.create", body={}, idempotency_key=idempotency_key)

    def revoke_key(self, key_id: str) -> dict:
        return self._call("auth.keys.revoke", {"key_id": key_id})
