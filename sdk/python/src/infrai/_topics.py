"""Fan-out: topics, their subscriptions, publishing, and declared event types: `infra.topics`
(docs/topics.md). A publish is delivered once to each subscription whose `event_types` and
`filter` (an EventBridge event pattern) match."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from ._resource import UNSET, Resource, as_dict, drop_unset, given, trace


class Topics(Resource):
    """Topics, subscriptions and event types: `infra.topics`."""

    def put(self, name: str, *, description: Optional[str] = UNSET) -> dict:
        """Create the topic or change its description (None removes it)."""
        return self._call("scheduling.topics.put", {"name": name}, body=drop_unset({"description": description}))

    def get(self, name: str) -> dict:
        return self._call("scheduling.topics.get", {"name": name})

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.topics.list", params={"limit": limit, "cursor": cursor})

    def delete(self, name: str) -> dict:
        """Refused (409) while the topic has subscriptions."""
        return self._call("scheduling.topics.delete", {"name": name})

    def publish(self, name: str, event_type: str, payload: Any, *, delay_seconds: Optional[int] = None,
                idempotency_key: Optional[str] = None, traceparent: Optional[str] = None,
                tracestate: Optional[str] = None) -> dict:
        """One delivery per matching subscription, each with its own webhook-id: returns
        `{"message_id", "matched", "deliveries": [...]}`."""
        body = {"event_type": event_type, "payload": payload, **given(delay_seconds=delay_seconds)}
        return self._call("scheduling.topics.publish", {"name": name}, body=body, idempotency_key=idempotency_key,
                          headers=trace(traceparent, tracestate))

    def subscribe(self, name: str, url: Optional[str] = None, *, destination: Optional[Mapping[str, str]] = None,
                  event_types: Optional[Iterable[str]] = None,
                  filter: Optional[Mapping[str, Any]] = None, description: Optional[str] = None,
                  headers: Optional[Mapping[str, str]] = None, auth: Optional[Mapping[str, Any]] = None,
                  retries: Optional[int] = None, retry_schedule: Any = None, timeout_seconds: Optional[int] = None,
                  paused: Optional[bool] = None, rate_limit: Optional[Mapping[str, int]] = None,
                  parallelism: Optional[int] = None, circuit_breaker: Optional[Mapping[str, int]] = None,
                  idempotency_key: Optional[str] = None) -> dict:
        """Subscribe `url` to the topic, or a `destination` in your AWS account instead:
        `{"type": "sqs" | "eventbridge", "arn": ..., "role_arn"?: ...}`. `event_types`: the types it
        takes (absent: all); `filter`: an EventBridge event pattern on the payload, e.g.
        `{"amount": [{"numeric": [">", 100]}]}`."""
        body = given(url=url, destination=as_dict(destination), event_types=list(event_types) if event_types is not None else None,
                     filter=as_dict(filter), description=description, headers=as_dict(headers), auth=as_dict(auth),
                     retries=retries, retry_schedule=retry_schedule, timeout_seconds=timeout_seconds, paused=paused,
                     rate_limit=as_dict(rate_limit), parallelism=parallelism, circuit_breaker=as_dict(circuit_breaker))
        return self._call("scheduling.topics.subscribe", {"name": name}, body=body, idempotency_key=idempotency_key)

    def subscriptions(self, name: str, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.topics.subscriptions", {"name": name}, params={"limit": limit, "cursor": cursor})

    def subscription(self, subscription_id: str) -> dict:
        return self._call("scheduling.subscriptions.get", {"subscription_id": subscription_id})

    def update_subscription(self, subscription_id: str, *, url: str = UNSET,
                            destination: Optional[Mapping[str, str]] = UNSET, event_types: Any = UNSET,
                            filter: Any = UNSET, description: Optional[str] = UNSET,
                            headers: Optional[Mapping[str, str]] = UNSET, auth: Optional[Mapping[str, Any]] = UNSET,
                            retries: Optional[int] = UNSET, retry_schedule: Any = UNSET,
                            timeout_seconds: Optional[int] = UNSET, paused: bool = UNSET,
                            rate_limit: Optional[Mapping[str, int]] = UNSET, parallelism: Optional[int] = UNSET,
                            circuit_breaker: Optional[Mapping[str, int]] = UNSET) -> dict:
        """Change only what is given; None goes back to the default (`event_types=None`: every type,
        `filter=None`: no filter)."""
        body = drop_unset({"url": url, "destination": as_dict(destination), "event_types": list(event_types) if event_types not in (None, UNSET) else event_types,
                           "filter": as_dict(filter), "description": description, "headers": as_dict(headers),
                           "auth": as_dict(auth), "retries": retries, "retry_schedule": retry_schedule,
                           "timeout_seconds": timeout_seconds, "paused": paused, "rate_limit": as_dict(rate_limit),
                           "parallelism": parallelism, "circuit_breaker": as_dict(circuit_breaker)})
        return self._call("scheduling.subscriptions.update", {"subscription_id": subscription_id}, body=body)

    def delete_subscription(self, subscription_id: str) -> dict:
        """Its deliveries not yet made are cancelled."""
        return self._call("scheduling.subscriptions.delete", {"subscription_id": subscription_id})

    def pause_subscription(self, subscription_id: str) -> dict:
        return self._call("scheduling.subscriptions.pause", {"subscription_id": subscription_id})

    def resume_subscription(self, subscription_id: str) -> dict:
        return self._call("scheduling.subscriptions.resume", {"subscription_id": subscription_id})

    def put_event_type(self, name: str, *, description: Optional[str] = UNSET,
                       schema: Optional[Mapping[str, Any]] = UNSET) -> dict:
        """Declare an event type; with `schema` (a JSON Schema subset) a publish's payload must fit it."""
        return self._call("scheduling.event_types.put", {"name": name},
                          body=drop_unset({"description": description, "schema": as_dict(schema)}))

    def event_type(self, name: str) -> dict:
        return self._call("scheduling.event_types.get", {"name": name})

    def event_types(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.event_types.list", params={"limit": limit, "cursor": cursor})

    def delete_event_type(self, name: str) -> dict:
        return self._call("scheduling.event_types.delete", {"name": name})
