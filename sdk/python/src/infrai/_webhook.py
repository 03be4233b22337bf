"""Outbound webhooks and the secret that signs them: `infra.webhook`."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ._resource import UNSET, Resource, as_dict, drop_unset, given, renamed, trace


class Webhook(Resource):
    """Outbound webhooks: `infra.webhook`."""

    def send(self, url: str, payload: Any, *, headers: Optional[Mapping[str, str]] = None,
             retries: Optional[int] = None, timeout_seconds: Optional[int] = None,
             delay_seconds: Optional[int] = None, idempotency_key: Optional[str] = None,
             flow_key: Optional[str] = None, retry: Optional[int] = None, retry_schedule: Any = None,
             callback_url: Optional[str] = None, failure_callback_url: Optional[str] = None,
             circuit_breaker: Optional[Mapping[str, int]] = UNSET,
             auth: Optional[Mapping[str, Any]] = None, traceparent: Optional[str] = None,
             tracestate: Optional[str] = None) -> dict:
        """The body's fields, by the API's names (`retry` is an older spelling of `retries`).
        `traceparent` / `tracestate`: the W3C trace every attempt is sent in (a new span each).
        `circuit_breaker`: its endpoint's breaker settings (default on); None turns it off.
        `auth`: the endpoint's credentials, `{"type": "oauth2_client_credentials", "token_url",
        "client_id", "client_secret", "scope"?, "audience"?}` or `{"type": "mtls", "certificate",
        "private_key"}` (PEM); its secret is sealed and never returned."""
        body = {"url": url, "payload": payload}
        body.update(given(headers=dict(headers) if headers is not None else None,
                          retries=renamed(retries, retry, "retry", "retries"),
                          timeout_seconds=timeout_seconds, delay_seconds=delay_seconds, flow_key=flow_key,
                          retry_schedule=retry_schedule, callback_url=callback_url,
                          failure_callback_url=failure_callback_url, auth=as_dict(auth)))
        body.update(drop_unset({"circuit_breaker": as_dict(circuit_breaker)}))
        return self._call("scheduling.webhook.send", body=body, idempotency_key=idempotency_key,
                          headers=trace(traceparent, tracestate))

    def get(self, delivery_id: str) -> dict:
        return self._call("scheduling.webhook.get", {"delivery_id": delivery_id})

    def list(self, *, state: Optional[str] = None, limit: Optional[int] = None,
             cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.webhook.list", params={"state": state, "limit": limit, "cursor": cursor})

    def retry(self, delivery_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        return self._call("scheduling.webhook.retry", {"delivery_id": delivery_id}, idempotency_key=idempotency_key)

    def cancel(self, delivery_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        """Cancel a delivery not yet attempted (a delayed send, one held or waiting): its
        record, `cancelled`. ConflictError once an attempt was made or it has ended."""
        return self._call("scheduling.webhook.cancel", {"delivery_id": delivery_id}, idempotency_key=idempotency_key)

    def secret(self) -> dict:
        """`{"secret": "whsec_…"}`: what receivers verify signatures with."""
        return self._call("scheduling.webhook.secret")

    def rotate_secret(self, *, idempotency_key: Optional[str] = None) -> dict:
        """A new secret; for 24 h deliveries carry both signatures."""
        return self._call("scheduling.webhook.rotate_secret", idempotency_key=idempotency_key)

    def public_keys(self) -> dict:
        """`{"keys": [{"key_id", "public_key": "whpk_…", "created_at", "expires_at"}]}`: what
        receivers verify v1a signatures with, newest first (empty until v1a is turned on with
        `infra.auth.update_project(signatures=["v1", "v1a"])`)."""
        return self._call("scheduling.webhook.public_keys")

    def rotate_public_key(self, *, idempotency_key: Optional[str] = None) -> dict:
        """A new v1a key pair; for 24 h deliveries carry both keys' signatures."""
        return self._call("scheduling.webhook.rotate_public_key", idempotency_key=idempotency_key)
