"""Named flows: one rate limit / parallelism shared by every webhook send and cron job that names
it in `flow_key`: `infra.flows`."""
from __future__ import annotations

from typing import Mapping, Optional

from ._resource import UNSET, Resource, as_dict, drop_unset


class Flows(Resource):
    """Named flows: one rate limit / parallelism shared by every webhook send and cron job that
    names it in `flow_key`: `infra.flows`."""

    def put(self, key: str, *, rate_limit: Optional[Mapping[str, int]] = UNSET,
            parallelism: Optional[int] = UNSET) -> dict:
        """Create the flow or change what is given (None lifts a limit)."""
        body = drop_unset({"rate_limit": as_dict(rate_limit), "parallelism": parallelism})
        return self._call("scheduling.flows.put", {"key": key}, body=body)

    def get(self, key: str) -> dict:
        return self._call("scheduling.flows.get", {"key": key})

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> dict:
        return self._call("scheduling.flows.list", params={"limit": limit, "cursor": cursor})

    def delete(self, key: str) -> dict:
        return self._call("scheduling.flows.delete", {"key": key})
