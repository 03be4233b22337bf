"""What every resource class (`infra.cron`, `infra.queue`, …) shares: the connection it calls
through, and the rules for turning keyword arguments into a request body."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ._connection import Connection

# "not given" where None means something (`url=None` detaches a queue's endpoint)
UNSET: Any = object()


def drop_unset(fields: Mapping[str, Any]) -> dict:
    return {k: v for k, v in fields.items() if v is not UNSET}


def given(**fields: Any) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def renamed(value: Any, old: Any, old_name: str, new_name: str) -> Any:
    """`old_name` is the seed's spelling of the API field `new_name`; both work, one at a time."""
    if old is UNSET or old is None:
        return value
    if value is not UNSET and value is not None and value != old:
        raise TypeError(f"pass {new_name}= (the API's name) or {old_name}= (its older spelling), not both")
    return old


def trace(traceparent: Optional[str], tracestate: Optional[str]) -> dict:
    """The W3C trace context headers of a publish, send or trigger (docs/tracing.md): the delivery
    joins that trace; without them (or with a malformed one) it starts its own."""
    return {"traceparent": traceparent, "tracestate": tracestate}


def as_dict(value: Optional[Mapping[str, Any]]) -> Any:
    """A mapping argument as a plain dict for the JSON body; None and UNSET as they are."""
    return dict(value) if value not in (None, UNSET) else value


class Resource:
    def __init__(self, connection: Connection):
        self._connection = connection

    def _call(self, *args, **kwargs):
        return self._connection.call(*args, **kwargs)
