"""One list of every delivery of a project, whatever made it (webhook send, queue message, cron
run), filtered by state, kind, queue, cron job, target host, last status code and creation time.

Three indexes (chalicelib/aws/resources.py), all sorted by `ix_created` ("<created ms, 13
digits>#<id>") and all write-sharded: a delivery's entries go to partition "<...>#<shard>",
its shard fixed by its id, so one project's deliveries spread over LIST_SHARDS partitions and
the list reads them in parallel and merges them (`delivery_list.py`):
- `ix_list` ("<project>#<shard>"): every delivery, written once at creation, with its kind,
  host and cron job projected so those filters are tested in the index;
- `ix_state` ("<project>#<state>#<shard>"): sparse, only the states people look for
  (INDEXED_STATES: not `succeeded`, not `queued`, which is work on its way);
- `ix_status` ("<project>#<status>#<shard>"): sparse, only a last attempt that did not answer 2xx.
So a webhook delivered on its first try writes one index entry, at creation, and its success
write touches no index key (docs/costs.md). Records written before this layout sit in the
unsharded partition ("<project>[#<value>]"), which the list reads as one more shard.
`fields()` computes every index attribute from a delivery record; it is merged into each write
that creates a delivery or changes its state. This module is pure and imports nothing of ours,
so any service may call it; the queries are in `delivery_list.py`."""
import zlib
from urllib.parse import urlsplit

NO_RESPONSE = "none"        # ix_status of a last attempt that got no HTTP response
LIST_SHARDS = 20            # a partition takes 1/20 of a project's deliveries (docs/costs.md)
INDEXED_STATES = ("held", "waiting", "retrying", "failed", "cancelled")
BATCH_PREFIX = "LST#"       # a batch's list entry (batch_entry)


def shard_of(delivery_id: str) -> int:
    return zlib.crc32(delivery_id.encode()) % LIST_SHARDS


def partitions(base: str) -> list[str]:
    """Every partition of an index value: its shards, and the unsharded one of older records."""
    return [f"{base}#{i}" for i in range(LIST_SHARDS)] + [base]


def fields(record: dict, url: str | None = None) -> dict:
    """Every index attribute of a delivery, from its full record (and the URL its last attempt
    went to, for queue messages, whose URL is their queue's). Attributes that do not apply are
    None: left out of a new record, removed by an update (those indexes are sparse)."""
    p, source = record["project_id"], record.get("source") or {}
    shard = shard_of(record["delivery_id"])
    state = record["state"]
    out = {"ix_all": None if record.get("lst") else f"{p}#{shard}", "ix_created": sort_key(record["created_at"], record["delivery_id"]),
           "ix_state": f"{p}#{state}#{shard}" if state in INDEXED_STATES else None,
           "ix_cron": f"{p}#{source['cron_id']}" if source.get("cron_id") else None}
    host = host_of(url or record.get("url"))
    out["ix_host"] = f"{p}#{host}" if host else record.get("ix_host")
    attempts = record.get("attempts") or []
    status = attempts[-1].get("status") if attempts else None
    out["ix_status"] = (f"{p}#{status_word(status)}#{shard}"
                        if attempts and not (isinstance(status, int) and 200 <= status < 300) else None)
    return out


def batch_entry(members: list[dict], ttl: int) -> dict:
    """One list entry for the messages a batch published to one queue, or a topic publish made
    for its subscriptions (2 or more): in `ix_list` once for all of them, where each would have
    had its own (docs/costs.md). Its members carry `lst` and no `ix_all` of their own; the list
    opens the entry into them (delivery_list._query). Keyed by its first member's id, so a
    retried batch writes the same entry again. What all members share is projected for the
    list's filters; members of several subscriptions' queues are `queue:@<topic>/*` (MIXED),
    and the list checks their own records for what the entry cannot say (host, subscription)."""
    first = members[0]
    entry_id = first["delivery_id"]

    def shared(attr):
        return first.get(attr) if all(m.get(attr) == first.get(attr) for m in members) else None
    kind = shared("kind") or f"queue:@{(first.get('source') or {}).get('topic', '')}/{MIXED}"
    return {"pk": f"{BATCH_PREFIX}{entry_id}", "sk": "LST", "project_id": first["project_id"], "kind": kind,
            "ids": [m["delivery_id"] for m in members], "created_at": first["created_at"],
            "ix_all": f"{first['project_id']}#{shard_of(entry_id)}", "ix_created": sort_key(first["created_at"], entry_id),
            **{attr: shared(attr) for attr in ("ix_host", "ix_cron") if shared(attr)}, "ttl": ttl}


MIXED = "*"   # a topic publish's list entry spanning its subscriptions' queues (no queue name has it)


def changed(record: dict, new: dict) -> dict:
    """The index attributes of `new` that differ from what `record` holds: an update that sets
    only these rewrites no index entry it does not have to."""
    return {k: v for k, v in new.items() if record.get(k) != v}


def kind_of(record: dict) -> str:
    return record["kind"].split(":", 1)[0]


def host_of(url: str | None) -> str | None:
    try:
        return (urlsplit(url).hostname or None) if url else None
    except ValueError:
        return None


def status_word(status) -> str:
    return str(status) if status is not None else NO_RESPONSE


def sort_key(created_at: float, delivery_id: str) -> str:
    return f"{int(created_at * 1000):013d}#{delivery_id}"


def host_in(record: dict) -> str | None:
    """The target host on record: the delivery's URL, or the index key written at its last attempt."""
    ix = record.get("ix_host")
    return ix.split("#", 1)[1] if ix else host_of(record.get("url"))


def with_fields(record: dict, url: str | None = None) -> dict:
    """A new delivery record with its index attributes (`url`: a queue message's endpoint)."""
    return {**record, **{k: v for k, v in fields(record, url).items() if v is not None}}
