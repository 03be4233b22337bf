"""Every delivery of the project, whatever made it, and bulk replays: `infra.deliveries`."""
from __future__ import annotations

from typing import Any, Optional

from ._resource import Resource, given


class Deliveries(Resource):
    """Every delivery of the project, whatever made it: `infra.deliveries`. Filters: `state`,
    `kind` (webhook, queue, cron, callback, event), `queue`, `cron_id`, `host`, `status_code` (int, or "none"),
    `since`, `until` (RFC 3339 strings)."""

    def list(self, *, state: Optional[str] = None, kind: Optional[str] = None, queue: Optional[str] = None,
             cron_id: Optional[str] = None, host: Optional[str] = None, status_code: Any = None,
             since: Optional[str] = None, until: Optional[str] = None, limit: Optional[int] = None,
             cursor: Optional[str] = None, topic: Optional[str] = None, subscription_id: Optional[str] = None) -> dict:
        params = {"state": state, "kind": kind, "queue": queue, "topic": topic, "subscription_id": subscription_id,
                  "cron_id": cron_id, "host": host,
                  "status_code": status_code, "since": since, "until": until, "limit": limit, "cursor": cursor}
        return self._call("scheduling.deliveries.list", params=params)

    def replay(self, *, state: Optional[str] = None, kind: Optional[str] = None, queue: Optional[str] = None,
               cron_id: Optional[str] = None, host: Optional[str] = None, status_code: Any = None,
               since: Optional[str] = None, until: Optional[str] = None,
               idempotency_key: Optional[str] = None, topic: Optional[str] = None,
               subscription_id: Optional[str] = None) -> dict:
        """Replay every failed delivery matching the filters, in the background: returns the job
        (`replay_id`); follow it with `replay_status`."""
        body = given(state=state, kind=kind, queue=queue, topic=topic, subscription_id=subscription_id,
                     cron_id=cron_id, host=host, status_code=status_code, since=since, until=until)
        return self._call("scheduling.deliveries.replay", body=body, idempotency_key=idempotency_key)

    def replay_status(self, replay_id: str) -> dict:
        return self._call("scheduling.replays.get", {"replay_id": replay_id})
