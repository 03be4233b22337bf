"""Where the project's operational events are POSTed: `infra.events`."""
from __future__ import annotations

from ._resource import Resource


class Events(Resource):
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
