"""The audit log (docs/security.md#the-audit-log): one entry per request that changes a project's
configuration (every non-GET route whose scope is `manage` or `admin`; chalicelib/api/http.py
writes it, once, after the handler answered). An entry says when, which key, the method and
the route's template, the resource's id, the status answered and the source address: never a
body, a header value or a secret. Publishes and sends are not here: each is a delivery on record.

Entries live in the project's own table partition (keys.audit_of), sorted by time, and expire
with the longer of the project's two retention periods (DynamoDB's TTL; reads skip what expired,
as moto never deletes). A failed write never fails the request: it is logged, without values."""
import logging
import math

from ...aws import keys, store
from ...core import clock, ids, validation
from ...core.errors import InvalidInput
from ..delivery.delivery_list import parse_time
from ..tenancy import retention

log = logging.getLogger(__name__)
FILTERS = ("since", "until", "key_id", "resource", "limit", "cursor")
MAX_RESOURCE = 256


def record(project_id: str, *, key_id: str | None, method: str, route: str, resource_id: str | None,
           status: int, source_ip: str | None) -> None:
    at = clock.now()
    entry_id = ids.new_id("aud", at)
    pk, sk = keys.audit_entry(project_id, int(at * 1000), entry_id)
    keep_days = max(retention.days(project_id).values())
    store.put({"pk": pk, "sk": sk, "project_id": project_id, "audit_id": entry_id, "at": at, "key_id": key_id,
               "method": method, "route": route, "resource_id": _bounded(resource_id), "status": status,
               "source_ip": _bounded(source_ip), "ttl": int(at + keep_days * 86400)})


def record_safely(project_id: str, **entry) -> bool:
    """`record`, never raising: the request it describes has already been answered. A failure is
    logged with the route and status only (an AWS error message may quote an item's values)."""
    try:
        record(project_id, **entry)
        return True
    except Exception as e:  # noqa: BLE001 - the request's answer must not change
        log.warning("audit entry not written", extra={
            "project_id": project_id, "key_id": entry.get("key_id"), "method": entry.get("method"),
            "route": entry.get("route"), "status": entry.get("status"), "error": type(e).__name__})
        return False


def _bounded(value):
    return str(value)[:MAX_RESOURCE] if value is not None else None


def list_(project_id: str, params: dict) -> dict:
    """Newest first. `since` (inclusive) and `until` (exclusive) bound the time; `key_id` and
    `resource` pick entries by the key that made them or the resource they changed."""
    validation.reject_unknown(params, FILTERS)
    limit = validation.query_limit(params)
    since = parse_time(params["since"], "since") if params.get("since") is not None else None
    until = parse_time(params["until"], "until") if params.get("until") is not None else None
    if since is not None and until is not None and since >= until:
        raise InvalidInput("'since' must be before 'until'.", field="since")
    where = {}
    for name, field in (("key_id", "key_id"), ("resource", "resource_id")):
        value = params.get(name)
        if value is not None:
            if not 1 <= len(value) <= MAX_RESOURCE:
                raise InvalidInput(f"'{name}' must be 1 to {MAX_RESOURCE} characters.", field=name)
            where[field] = value
    lo = f"{int(since * 1000):013d}" if since is not None else "0"
    hi = f"{math.ceil(until * 1000) - 1:013d}~" if until is not None else "~"   # until: exclusive
    items, cursor = store.query_filtered(keys.audit_of(project_id), lo=lo, hi=hi, where=where,
                                         after=("ttl", int(clock.now())), limit=limit,
                                         cursor=params.get("cursor"))
    return {"entries": [view(i) for i in items], "next_cursor": cursor}


def view(item: dict) -> dict:
    return {"audit_id": item["audit_id"], "at": clock.rfc3339(item["at"]), "key_id": item.get("key_id"),
            "method": item["method"], "route": item["route"], "resource_id": item.get("resource_id"),
            "status": item["status"], "source_ip": item.get("source_ip")}
