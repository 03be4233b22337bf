"""Cron jobs: `infra.cron`."""
from __future__ import annotations

from datetime import datetime, timezone as tz
from typing import Any, Mapping, Optional, Union
from urllib.parse import urlsplit

from ._resource import UNSET, Resource, as_dict, drop_unset, given, renamed, trace


def _target(task: str) -> dict:
    """A task is a URL when it starts with http:// or https://, else a queue name."""
    if task.lower().startswith(("http://", "https://")):
        return {"url": task}
    return {"queue": task}


def _rfc3339(value: Union[str, datetime], name: str) -> str:
    """An aware datetime as RFC 3339 UTC; a string as given (the API checks it)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware, e.g. datetime(..., tzinfo=timezone.utc)")
        return value.astimezone(tz.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def default_name(task: str) -> str:
    """A readable job name from its target: the queue name, or host + path of the URL."""
    if task.lower().startswith(("http://", "https://")):
        parts = urlsplit(task)
        name = (parts.netloc + parts.path).rstrip("/") or task
    else:
        name = task
    return name[:128]


class Cron(Resource):
    """Cron jobs: `infra.cron`."""

    def create(self, cron_expr: str, task: Optional[str] = None, *, name: Optional[str] = None, timezone: str = "UTC",
               retries: Optional[int] = None, timeout_seconds: int = 300, payload: Any = None,
               idempotency_key: Optional[str] = None, enabled: Optional[bool] = None,
               flow_key: Optional[str] = None, retry: Optional[int] = None,
               catch_up_window_seconds: Optional[int] = None, retry_schedule: Any = None,
               callback_url: Optional[str] = None, failure_callback_url: Optional[str] = None,
               circuit_breaker: Optional[Mapping[str, int]] = UNSET,
               auth: Optional[Mapping[str, Any]] = None, topic: Optional[str] = None,
               event_type: Optional[str] = None) -> dict:
        """A job that POSTs to `task` (a URL) or publishes into `task` (a queue name) on `cron_expr`
        (or, with `topic` and `event_type` instead of a task, publishes to that topic: one delivery
        per matching subscription; the payload is then an object)
        (the body's `schedule`). `retries` defaults to 3; `retry` is the seed's spelling of it.
        `catch_up_window_seconds`: runs missed while paused or down, at most this old, are fired
        on resume or recovery (default 0: skipped). `retry_schedule`: "svix" (default),
        "exponential" or a list of gaps in seconds; the callback URLs are called when a run's
        delivery succeeds / fails for good. `circuit_breaker` (url targets): its runs' endpoint's
        breaker settings (default on); None turns it off. `auth` (url targets): the endpoint's
        credentials, as for `infra.webhook.send`."""
        retries = renamed(retries, retry, "retry", "retries")
        retries = 3 if retries is None else retries
        if (task is None) == (topic is None):
            raise ValueError("give a task (a URL or a queue name) or topic= (with event_type=), not both")
        target = _target(task) if task is not None else {"topic": topic, "event_type": event_type}
        body = {"name": name if name is not None else default_name(task or topic), "schedule": cron_expr,
                **target, "timezone": timezone, "retries": retries, "timeout_seconds": timeout_seconds}
        body.update(given(enabled=enabled, payload=payload, catch_up_window_seconds=catch_up_window_seconds,
                          flow_key=flow_key, retry_schedule=retry_schedule, callback_url=callback_url,
                          failure_callback_url=failure_callback_url, auth=as_dict(auth)))
        body.update(drop_unset({"circuit_breaker": as_dict(circuit_breaker)}))
        return self._call("scheduling.cron.create", body=body, idempotency_key=idempotency_key)

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.cron.list", params={"limit": limit, "cursor": cursor})

    def get(self, cron_id: str) -> dict:
        return self._call("scheduling.cron.get", {"cron_id": cron_id})

    def update(self, cron_id: str, *, schedule: str = UNSET, url: str = UNSET, queue: str = UNSET,
               name: str = UNSET, timezone: str = UNSET, retries: int = UNSET, timeout_seconds: int = UNSET,
               payload: Any = UNSET, enabled: bool = UNSET, flow_key: Optional[str] = UNSET,
               cron_expr: str = UNSET, task: str = UNSET, retry: int = UNSET,
               catch_up_window_seconds: int = UNSET, retry_schedule: Any = UNSET,
               callback_url: Optional[str] = UNSET, failure_callback_url: Optional[str] = UNSET,
               circuit_breaker: Optional[Mapping[str, int]] = UNSET,
               auth: Optional[Mapping[str, Any]] = UNSET, topic: str = UNSET,
               event_type: str = UNSET) -> dict:
        """Change only what is given. `cron_expr`, `task` and `retry` are create()'s spellings of
        `schedule`, `url`/`queue` and `retries`; `auth=None` removes the endpoint's credentials.
        A new target (`url`, `queue`, `task` or `topic`) replaces the old one."""
        body = drop_unset({"schedule": renamed(schedule, cron_expr, "cron_expr", "schedule"), "url": url,
                           "queue": queue, "topic": topic, "event_type": event_type, "name": name, "timezone": timezone,
                           "retries": renamed(retries, retry, "retry", "retries"),
                           "timeout_seconds": timeout_seconds, "payload": payload, "enabled": enabled,
                           "flow_key": flow_key, "catch_up_window_seconds": catch_up_window_seconds,
                           "retry_schedule": retry_schedule, "callback_url": callback_url,
                           "failure_callback_url": failure_callback_url,
                           "circuit_breaker": as_dict(circuit_breaker), "auth": as_dict(auth)})
        if task is not UNSET:
            body.update(_target(task))
        return self._call("scheduling.cron.update", {"cron_id": cron_id}, body=body)

    def delete(self, cron_id: str) -> dict:
        return self._call("scheduling.cron.delete", {"cron_id": cron_id})

    def pause(self, cron_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("scheduling.cron.pause", {"cron_id": cron_id}, idempotency_key=idempotency_key)

    def resume(self, cron_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("scheduling.cron.resume", {"cron_id": cron_id}, idempotency_key=idempotency_key)

    def trigger(self, cron_id: str, *, idempotency_key: Optional[str] = None, traceparent: Optional[str] = None,
                tracestate: Optional[str] = None) -> dict:
        """Run once now (also when paused); returns the run. `traceparent` / `tracestate`: the W3C
        trace its delivery is sent in (without them the run starts its own)."""
        return self._call("scheduling.cron.trigger", {"cron_id": cron_id}, idempotency_key=idempotency_key,
                          headers=trace(traceparent, tracestate))

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
