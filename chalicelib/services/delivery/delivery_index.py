"""One list of every delivery of a project, whatever made it (webhook send, queue message, cron
run), filtered by state, kind, queue, cron job, target host, last status code and creation time.

Each filter has its own keys-only GSI (chalicelib/aws/resources.py), partitioned by
"<project>#<value>" and sorted by `ix_created` ("<created ms, 13 digits>#<id>"), so every
filter is one Query and a time window is a range on the sort key: the cost of a page does not
depend on how many deliveries the project holds. Several filters at once: the most selective
index is queried and the others are checked on the records read for the page (so only that
partition is ever read, never the project). `fields()` computes every index attribute from a
delivery record; it is merged into each write that creates a delivery or changes its state.
This module is pure and imports nothing of ours, so any service may call it; the queries are in
`delivery_list.py`."""
from urllib.parse import urlsplit

NO_RESPONSE = "none"        # ix_status of a last attempt that got no HTTP response


def fields(record: dict, url: str | None = None) -> dict:
    """Every index attribute of a delivery, from its full record (and the URL its last attempt
    went to, for queue messages, whose URL is their queue's). Attributes that do not apply are
    left out: those indexes are sparse."""
    p, source = record["project_id"], record.get("source") or {}
    family = kind_of(record)
    out = {"ix_all": p, "ix_created": sort_key(record["created_at"], record["delivery_id"]),
           "ix_state": f"{p}#{record['state']}", "ix_kind": f"{p}#{family}"}
    if family == "queue" and source.get("queue"):
        out["ix_queue"] = f"{p}#{source['queue']}"
    if source.get("cron_id"):
        out["ix_cron"] = f"{p}#{source['cron_id']}"
    host = host_of(url or record.get("url"))
    if host or record.get("ix_host"):
        out["ix_host"] = f"{p}#{host}" if host else record["ix_host"]
    attempts = record.get("attempts") or []
    if attempts:
        out["ix_status"] = f"{p}#{status_word(attempts[-1].get('status'))}"
    return out


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


def with_fields(record: dict) -> dict:
    """A new delivery record with its index attributes."""
    return {**record, **fields(record)}
