"""Queries of the one delivery list (GET /v1/scheduling/deliveries), on the indexes whose
attributes `delivery_index.fields()` writes. A filter picks its index and partition value; the
value's shards (delivery_index.partitions) are read in parallel and merged by creation time.
Kind, queue, topic, subscription, cron job and host are tested in the index itself (projected on `ix_list`); any
other filter given besides the index's is checked on the records read for the page. A page's
cursor is the sort key of the last entry it examined: the next page asks every shard for what
lies beyond it, so page 1,000 costs what page 1 does."""
import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ...aws import clients, store
from ...aws.resources import DELIVERY_INDEXES, DELIVERY_INDEX_SORT
from ... import config
from ...core import clock, ids, validation
from ...core.errors import InvalidInput
from . import deliveries
from .delivery_index import BATCH_PREFIX, INDEXED_STATES, MIXED, NO_RESPONSE, host_in, kind_of, partitions

KINDS = ("webhook", "queue", "cron", "callback", "event")
FILTERS = ("state", "kind", "queue", "topic", "subscription_id", "cron_id", "host", "status_code", "since", "until")
RECORD_BUDGET = 1000        # records one request may read to check filters the index cannot
SCAN_BUDGET = 20_000        # index entries one request may examine (projected: ~150 bytes each)
CHUNK = 200                 # entries asked of one shard at a time when the index filters
_pool = ThreadPoolExecutor(max_workers=24, thread_name_prefix="list")


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
    sub = params.get("subscription_id")
    if sub is not None:
        if not ids.is_id(sub, "sub"):
            raise InvalidInput("'subscription_id' must be a subscription's id (sub_...).", field="subscription_id")
        f["subscription_id"] = sub
    for name, max_len in (("queue", 80), ("topic", 80), ("cron_id", 64), ("host", 253)):
        value = params.get(name)
        if value is not None:
            if not isinstance(value, str) or not 1 <= len(value) <= max_len or "#" in value:
                raise InvalidInput(f"'{name}' must be 1 to {max_len} characters.", field=name)
            if name == "topic" and not validation.NAME.fullmatch(value):
                raise InvalidInput("'topic' must be a topic's name: letters, digits, '.', '_' or '-'.", field="topic")
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


def _plan(project_id: str, f: dict) -> tuple[str, str, dict]:
    """The index and partition value a filter set reads, and the conditions tested in the index."""
    if f.get("state") in INDEXED_STATES:
        return "ix_state", f"{project_id}#{f['state']}", {}
    code = f.get("status_code")
    if code is not None and not (code.isdigit() and 200 <= int(code) < 300):
        return "ix_status", f"{project_id}#{code}", {}
    # Each test: alternatives, any of which lets an entry through. A topic publish's list entry
    # (kind queue:@<topic>/*, delivery_index.MIXED) spans its subscriptions' queues and hosts: it
    # passes the tests it cannot answer, and `matches` checks its members' records.
    tests = {}
    mixed = [("kind", "contains", f"/{MIXED}")]
    if "queue" in f:
        internal = f["queue"].startswith("@") and "/" in f["queue"]
        tests["kind"] = [("kind", "=", f"queue:{f['queue']}")] + (
            [("kind", "=", f"queue:{f['queue'].rsplit('/', 1)[0]}/{MIXED}")] if internal else [])
    elif "subscription_id" in f:   # a subscription's deliveries are its queue's (services/topics)
        tests["kind"] = [("kind", "contains", f"/{f['subscription_id']}")] + mixed
    elif "topic" in f:
        tests["kind"] = [("kind", "begins_with", f"queue:@{f['topic']}/")]
    elif "kind" in f:
        tests["kind"] = [("kind", "begins_with", "queue:") if f["kind"] == "queue" else ("kind", "=", f["kind"])]
    if "cron_id" in f:
        tests["ix_cron"] = [("ix_cron", "=", f"{project_id}#{f['cron_id']}")] + mixed
    if "host" in f:
        tests["ix_host"] = [("ix_host", "=", f"{project_id}#{f['host']}")] + mixed
    return "ix_list", project_id, tests


def _bounds(f: dict) -> tuple[str, str]:
    lo = f"{int(f['since'] * 1000):013d}" if "since" in f else "0"
    hi = f"{int(f['until'] * 1000):013d}" if "until" in f else "~"   # until is exclusive
    return lo, hi


def matches(record: dict, project_id: str, f: dict, now: float | None = None) -> bool:
    """Checked on the record as it is now (an index may lag a write by a moment); an expired
    record (its retention over, DynamoDB not yet done deleting it) matches nothing."""
    if record.get("project_id") != project_id or deliveries.expired(record, now):
        return False
    if "state" in f and record["state"] != f["state"]:
        return False
    if "kind" in f and kind_of(record) != f["kind"]:
        return False
    source = record.get("source") or {}
    if "queue" in f and record["kind"] != f"queue:{f['queue']}":
        return False
    if "topic" in f and source.get("topic") != f["topic"]:
        return False
    if "subscription_id" in f and source.get("subscription_id") != f["subscription_id"]:
        return False
    if "cron_id" in f and source.get("cron_id") != f["cron_id"]:
        return False
    if "host" in f and host_in(record) != f["host"]:
        return False
    if "status_code" in f:
        attempts = record.get("attempts") or []
        last = attempts[-1].get("status") if attempts else False
        if last is False or (NO_RESPONSE if last is None else str(last)) != f["status_code"]:
            return False
    created = record["created_at"]
    return not ("since" in f and created < f["since"]) and not ("until" in f and created >= f["until"])


class _Shard:
    """One partition's entries in list order, fetched a chunk at a time."""

    def __init__(self, pk: str):
        self.pk, self.buf, self.start, self.more = pk, [], None, True


def _query(index: str, shard: _Shard, lo: str, hi: str, tests: dict, limit: int, newest_first: bool,
           within: tuple[str, str] | None = None) -> int:
    """One read of a shard into its buffer; a batch's list entry (delivery_index.batch_entry)
    is opened into its messages, each at the entry's sort key + "/<position>", and kept only
    `within` the page's bounds (a cursor may point inside a batch)."""
    names = {"#pk": DELIVERY_INDEXES[index], "#sk": DELIVERY_INDEX_SORT}
    values = {":pk": shard.pk, ":lo": lo, ":hi": hi}
    kwargs = {"TableName": config.table_name(), "IndexName": index, "Limit": limit,
              "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
              "ScanIndexForward": not newest_first}
    conds = []
    for i, alternatives in enumerate(tests.values()):
        ors = []
        for j, (attr, op, value) in enumerate(alternatives):
            names[f"#t{i}_{j}"], values[f":t{i}_{j}"] = attr, value
            ors.append(f"{op}(#t{i}_{j}, :t{i}_{j})" if op in ("begins_with", "contains") else f"#t{i}_{j} = :t{i}_{j}")
        conds.append(ors[0] if len(ors) == 1 else "(" + " OR ".join(ors) + ")")
    if conds:
        kwargs["FilterExpression"] = " AND ".join(conds)
    if shard.start:
        kwargs["ExclusiveStartKey"] = shard.start
    kwargs["ExpressionAttributeNames"] = names
    kwargs["ExpressionAttributeValues"] = {k: {"S": v} for k, v in values.items()}
    resp = clients.dynamodb().query(**kwargs)
    got = [{"pk": i["pk"]["S"], "sk": i["sk"]["S"], "at": i[DELIVERY_INDEX_SORT]["S"]} for i in resp.get("Items", [])]
    batches = [e for e in got if e["pk"].startswith(BATCH_PREFIX)]
    if batches:
        lists = store.get_many([(e["pk"], e["sk"]) for e in batches])
        opened = []
        for e in got:
            if not e["pk"].startswith(BATCH_PREFIX):
                opened.append(e)
                continue
            members = [{"pk": f"DLV#{d}", "sk": "DLV", "at": f"{e['at']}/{n:03d}"}
                       for n, d in enumerate((lists.get((e["pk"], e["sk"])) or {}).get("ids", []))]
            lo_v, hi_v = within or (lo, hi)
            opened += [m for m in (reversed(members) if newest_first else members) if lo_v <= m["at"] <= hi_v]
        got = opened
    shard.buf += got
    shard.start = resp.get("LastEvaluatedKey")
    shard.more = shard.start is not None
    return resp.get("ScannedCount", len(resp.get("Items", [])))


def _cursor(index: str, base: str, at: str, inclusive: bool) -> str:
    raw = json.dumps({"i": index, "b": base, "k": at, "x": 0 if inclusive else 1}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _resume(cursor: str, index: str, base: str) -> tuple[str, bool]:
    """Where a cursor resumes (a sort key, and whether the entry at it is still to come); a
    cursor of another list (other filters, another project) or not one we made is a 400."""
    try:
        plain = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())) \
            if isinstance(cursor, str) and len(cursor) <= 1024 else None
        ok = (isinstance(plain, dict) and plain.get("i") == index and plain.get("b") == base
              and isinstance(plain.get("k"), str) and 0 < len(plain["k"]) <= 200 and plain.get("x") in (0, 1))
    except (ValueError, TypeError, RecursionError):
        ok = False
    if not ok:
        raise InvalidInput("'cursor' is not one this list returned; pass next_cursor unchanged, "
                           "or omit it to start from the first page.", field="cursor")
    return plain["k"], plain["x"] == 0


def _position(shards: list[_Shard], newest_first: bool) -> tuple[str, bool] | None:
    """Where the next page starts: every entry before it, in every shard, has been examined.
    A shard with entries in hand resumes at its next one (inclusive); one whose last read found
    nothing to hand (the index's filter) resumes after the last key it examined. None: the end."""
    marks = [(s.buf[0]["at"], True) if s.buf else (s.start[DELIVERY_INDEX_SORT]["S"], False)
             for s in shards if s.buf or s.more]
    if not marks:
        return None
    return max(marks) if newest_first else min(marks, key=lambda m: (m[0], not m[1]))


def page(project_id: str, f: dict, *, limit: int, cursor: str | None, newest_first=True,
         budget: int = RECORD_BUDGET) -> tuple[list[dict], str | None]:
    """Up to `limit` delivery records matching `f`, and the cursor of the next page (None at the
    end). Fewer than `limit` with a cursor means the read budget ran out first: ask again."""
    index, base, tests = _plan(project_id, f)
    lo, hi = _bounds(f)
    after, keep = _resume(cursor, index, base) if cursor else (None, False)
    within = None
    if after:
        hi, lo = (min(hi, after), lo) if newest_first else (hi, max(lo, after))
        within = (lo, hi)
        if not newest_first and "/" in after:   # inside a batch: read its entry again, keep what follows
            lo = after.split("/", 1)[0]
    shards = [_Shard(pk) for pk in partitions(base)]
    chunk = CHUNK if tests else max(2, -(-2 * limit // len(shards)))
    found, read, scanned, now = [], 0, 0, clock.now()

    def cursor_from(pos):
        return _cursor(index, base, *pos) if pos else None
    while True:
        empty = [s for s in shards if not s.buf and s.more]
        if empty:
            if scanned >= SCAN_BUDGET:
                return found, cursor_from(_position(shards, newest_first))
            scanned += sum(_pool.map(lambda s: _query(index, s, lo, hi, tests, chunk, newest_first, within), empty))
            if not keep:   # BETWEEN is inclusive: the entry the cursor names was examined already
                for s in empty:
                    s.buf = [e for e in s.buf if e["at"] != after]
            continue
        batch = []
        while len(batch) < min(100, limit - len(found)) and not any(not s.buf and s.more for s in shards):
            live = [s for s in shards if s.buf]
            if not live:
                break
            pick = (max if newest_first else min)(live, key=lambda s: s.buf[0]["at"])
            batch.append(pick.buf.pop(0))
        if not batch:
            return found, None
        records = store.get_many([(e["pk"], e["sk"]) for e in batch])
        read += len(batch)
        for i, e in enumerate(batch):
            r = records.get((e["pk"], e["sk"]))
            if r and matches(r, project_id, f, now):
                found.append(r)
                if len(found) == limit:
                    rest = batch[i + 1:]
                    return found, cursor_from((rest[0]["at"], True) if rest else _position(shards, newest_first))
        if read >= budget:
            return found, cursor_from(_position(shards, newest_first))


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
    if source.get("topic"):   # a topic publish's delivery: which topic, subscription and event type
        out.update({"topic": source["topic"], "subscription_id": source.get("subscription_id"),
                    "event_type": source.get("event_type")})
    return out
