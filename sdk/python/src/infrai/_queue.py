"""Queues and their messages: `infra.queue`."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from ._resource import UNSET, Resource, as_dict, drop_unset, given, renamed, trace


class Queue(Resource):
    """Queues and their messages: `infra.queue`."""

    def publish(self, queue: str, payload: Any, *, delay_seconds: Optional[int] = None,
                idempotency_key: Optional[str] = None, callback_url: Optional[str] = None,
                failure_callback_url: Optional[str] = None, traceparent: Optional[str] = None,
                tracestate: Optional[str] = None) -> dict:
        """`callback_url` / `failure_callback_url`: called (signed POST) when the message is
        delivered / fails for good. `traceparent` / `tracestate`: the W3C trace it is sent in."""
        body = {"queue": queue, "payload": payload}
        body.update(given(delay_seconds=delay_seconds, callback_url=callback_url,
                          failure_callback_url=failure_callback_url))
        return self._call("scheduling.queue.publish", body=body, idempotency_key=idempotency_key,
                          headers=trace(traceparent, tracestate))

    def publish_batch(self, messages: Iterable[Mapping[str, Any]], *,
                      idempotency_key: Optional[str] = None, traceparent: Optional[str] = None,
                      tracestate: Optional[str] = None) -> dict:
        """Up to 100 `{"queue", "payload", "delay_seconds"?, "callback_url"?, "failure_callback_url"?}`;
        a bad one is reported in its slot. All are sent in the trace of `traceparent`, if given."""
        return self._call("scheduling.queue.publish_batch", body={"messages": [dict(m) for m in messages]},
                          idempotency_key=idempotency_key, headers=trace(traceparent, tracestate))

    def create(self, name: str, url: Optional[str] = None, *, retries: Optional[int] = None,
               timeout_seconds: Optional[int] = None, paused: Optional[bool] = None,
               rate_limit: Optional[Mapping[str, int]] = None, parallelism: Optional[int] = None,
               circuit_breaker: Optional[Mapping[str, int]] = None, retry: Optional[int] = None,
               retry_schedule: Any = None, auth: Optional[Mapping[str, Any]] = None) -> dict:
        """Create (or change) a queue; with `url` its messages are POSTed there, without it they are held.
        `auth`: the endpoint's credentials, as for `infra.webhook.send`.
        `rate_limit={"count": 10, "period_seconds": 1}` and `parallelism` limit its sends
        (`parallelism=1`: FIFO). `retry` is an older spelling of `retries`."""
        body = given(url=url, retries=renamed(retries, retry, "retry", "retries"), timeout_seconds=timeout_seconds,
                     paused=paused, rate_limit=dict(rate_limit) if rate_limit else None, parallelism=parallelism,
                     circuit_breaker=dict(circuit_breaker) if circuit_breaker else None,
                     retry_schedule=retry_schedule, auth=as_dict(auth))
        return self._call("scheduling.queue.put", {"name": name}, body=body)

    def update(self, name: str, *, url: Optional[str] = UNSET, retries: int = UNSET,
               timeout_seconds: int = UNSET, paused: bool = UNSET,
               rate_limit: Optional[Mapping[str, int]] = UNSET, parallelism: Optional[int] = UNSET,
               circuit_breaker: Optional[Mapping[str, int]] = UNSET, retry: int = UNSET,
               retry_schedule: Any = UNSET, auth: Optional[Mapping[str, Any]] = UNSET) -> dict:
        """Change only what is given; `url=None` detaches the endpoint (messages are held); `auth=None`
        removes its credentials;
        `rate_limit=None` / `parallelism=None` lift a limit; `retry_schedule=None` goes back to
        the default schedule."""
        body = drop_unset({"url": url, "retries": renamed(retries, retry, "retry", "retries"),
                           "timeout_seconds": timeout_seconds, "paused": paused,
                           "rate_limit": as_dict(rate_limit), "parallelism": parallelism,
                           "circuit_breaker": as_dict(circuit_breaker), "retry_schedule": retry_schedule,
                           "auth": as_dict(auth)})
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
