"""Target endpoints that have failed, with their circuit breakers: `infra.endpoints`."""
from __future__ import annotations

from typing import Optional

from ._resource import Resource


class Endpoints(Resource):
    """Target endpoints that have failed, with their circuit breakers: `infra.endpoints`."""

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.endpoints.list", params={"limit": limit, "cursor": cursor})

    def release(self, endpoint_id: str, *, idempotency_key: Optional[str] = None) -> dict:
        """Close its breaker by hand; what it held goes, in publish order."""
        return self._call("scheduling.endpoints.release", {"endpoint_id": endpoint_id},
                          idempotency_key=idempotency_key)
