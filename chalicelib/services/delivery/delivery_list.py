"""Queries of the one delivery list (GET /v1/scheduling/deliveries), on the indexes whose
attributes `delivery_index.fields()` writes. A filter picks its index (the most selective one
given); further filters are checked on the records read for the page, so a request reads one
index partition (within the time window), never the whole project."""
from datetime import datetime

from ...aws import resources, store
from ...core import clock, validation
from ...core.errors import InvalidInput
from . import deliveries
from .delivery_index import NO_RESPONSE, fields, host_in, kind_of

KINDS = ("webhook", "queue", "cron", "callback", "event")
FILTERS = ("state", "kind", "queue", "cron_id", "host", "status_code", "since", "until")
# Most selective first: the first filter given picks the index; the rest are checked per record.
INDEX_OF = {"cron_id": "ix_cron", "queue": "ix_queue", "host": "ix_host", "status_code": "ix_status",
            "state": "ix_state", "kind": "ix_kind"}
READ_BUDGET = 1000          # index entries one request may examine when filters are combined
KEY_ATTRS = ("pk", "sk")


def parse_filters(params: dict) -> dict:
    """The query string's filters, checked; a bad value is a 400 naming the field."""
    params = params or {}
    f = {}
    state = params.get("state")
    if state is not None:
        if state not in deliveries.STATES:
            raise InvalidInput(f"'state' must be one of: {', '.join(deliveries.STATES)}.", field="state")
        f["state"] = state
    if params.get("kind") is not None:
        if params["kind"] not in KINDS:
            raise InvalidInput(f"'kind' must be one of: {', '.join(KINDS)}.", field="kind")
        f["kind"] = params["kind"]
    for name, max_len in (("queue", 80), ("cron_id", 64), ("host", 253)):
        value = params.get(name)
        if value is not None:
            if not isinstance(value, str) or not 1 <= len(value) <= max_len or "#" in value:
                raise InvalidInput(f"'{name}' must be 1 to {max_len} characters.", field=name)
            f[name] = value.lower() if name == "host" else value
    code = params.get("status_code")
    if code is not None:
        if code != NO_RESPONSE and not (code.isascii() and code.isdigit() and 100 <= int(code) <= 599):
            raise InvalidInput("'status_code' must be an HTTP status from 100 to 599, or 'none' for "
                               "attempts that got no response (timeout, refused connection).", field="status_code")
        f["status_code"] = code if code == NO_RESPONSE else str(int(code))
    for name in ("since", "until"):
        if params.get(name) is not None:
            f[name] = parse_time(params[name], name)
    if "since" in f and "until" in f and f["since"] >= f["until"]:
        raise InvalidInput("'since' must be before 'until'.", field="since")
    return f


def parse_time(value, name: str) -> float:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
        stamp = dt.timestamp() if dt is not None and dt.tzinfo is not None else None
    except (ValueError, OverflowError):   # e.g. year 1 at +23:59 is before year 1 in UTC
        stamp = None
    if stamp is None or stamp < 0:
        raise InvalidInput(f"'{name}' must be an RFC 3339 time with a zone, after 1970, e.g. "
                           "2026-01-31T09:00:00Z.", field=name)
    return stamp


def filters_view(f: dict) -> dict:
    return {k: (clock.rfc3339(v) if k in ("since", "until") else v) for k, v in f.items()}


def _partition(project_id: str, f: dict) -> tuple[str, str]:
    for name, index in INDEX_OF.items():
        if name in f:
            return index, f"{project_id}#{f[name]}"
    return "ix_all", project_id


def _bounds(f: dict) -> tuple[str, str]:
    lo = f"{int(f['since'] * 1000):013d}" if "since" in f else "0"
    hi = f"{int(f['until'] * 1000):013d}" if "until" in f else "~"   # until is exclusive
    return lo, hi


def matches(record: dict, project_id: str, f: dict) -> bool:
    """Checked on the record as it is now (an index may lag a write by a moment)."""
    if record.get("project_id") != project_id:
        return False
    now = fields(record)
    for name, index in INDEX_OF.items():
        if name in f and now.get(index) != f"{project_id}#{f[name]}":
            return False
    created = record["created_at"]
    return not ("since" in f and created < f["since"]) and not ("until" in f and created >= f["until"])


def page(project_id: str, f: dict, *, limit: int, cursor: str | None, newest_first=True,
         budget: int = READ_BUDGET) -> tuple[list[dict], str | None]:
    """Up to `limit` delivery records matching `f`, and the cursor of the next page (None at the
    end). Fewer than `limit` with a cursor means the read budget ran out first: ask again."""
    index, pk_value = _partition(project_id, f)
    lo, hi = _bounds(f)
    found, examined = [], 0
    while True:
        exact = sum(1 for k in f if k in INDEX_OF) <= 1     # one filter (and a time window): the key says it all
        size = min(max(limit - len(found), 1) if exact else 100, budget - examined)
        keys_, nxt = store.query_range(index, index, pk_value, resources.DELIVERY_INDEX_SORT, lo=lo, hi=hi,
                                       limit=size, cursor=cursor, newest_first=newest_first)
        examined += len(keys_)
        records = store.get_many([(k["pk"], k["sk"]) for k in keys_]) if keys_ else {}
        for k in keys_:
            r = records.get((k["pk"], k["sk"]))
            if r and matches(r, project_id, f):
                found.append(r)
                if len(found) == limit:
                    last = k is keys_[-1] and nxt is None
                    return found, None if last else store.cursor_at(k, (*KEY_ATTRS, index,
                                                                        resources.DELIVERY_INDEX_SORT))
        cursor = nxt
        if cursor is None or examined >= budget:
            return found, cursor


def list_(project_id: str, params: dict) -> dict:
    f = parse_filters(params)
    limit = validation.query_limit(params)
    items, nxt = page(project_id, f, limit=limit, cursor=params.get("cursor"))
    return {"items": [view(r) for r in items], "next_cursor": nxt}


def view(record: dict) -> dict:
    """A delivery in the one list: what made it, where it goes, and its last attempt (the full
    attempt history is on GET /v1/scheduling/webhook/deliveries/{id})."""
    out = deliveries.view(record)
    attempts = out.pop("attempts")
    source = record.get("source") or {}
    last = attempts[-1] if attempts else None
    out.update({"kind": kind_of(record), "queue": source.get("queue"), "cron_id": source.get("cron_id"),
                "host": host_in(record),
                "status_code": last["status_code"] if last else None, "last_attempt": last})
    return out
