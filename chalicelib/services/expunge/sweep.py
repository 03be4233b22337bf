"""What an expunge deletes, and in which order: a project's items, found through the partitions
and index entries that name it, walked phase by phase with a cursor so a job goes forward a page
at a time (services/expunge/expunge.py carries the position from step to step).

The order stops what makes new items before deleting what they make: keys first (revoked, in
expunge.py, then a wait until no API instance still trusts them), the events endpoint (no new
event deliveries), cron jobs with their schedules (no new runs), replay jobs, queues, named flows
and endpoints, then every delivery, then every delivery *again* after a wait as long as the
deliver function's longest run (a delivery that ended just before the first pass deleted it may
still have made its callback), then the usage counters, the audit log (the expunge's own entries
included) and the project's own partition (its API key records, each key's hash record retired
first, and the project item).

| phase        | found through                                   | deleted                                   |
|--------------|-------------------------------------------------|-------------------------------------------|
| events       | its key                                         | the events endpoint                       |
| cron_jobs    | gsi1 `<p>#cronjobs`, then each job's partition  | schedules (Scheduler), job, runs, watch   |
| replays      | gsi1 `<p>#replays`, then each job's partition   | replay job, its ITEM markers              |
| queues       | gsi1 `<p>#queues`, then each queue's partition  | queue, its limiter state (FLOW)           |
| flows        | gsi1 `<p>#flows`                                | named flows                               |
| endpoints    | gsi1 `<p>#endpoints`                            | circuit breaker items                     |
| deliveries   | ix_list, every shard (delivery_index.partitions)| deliveries, and the run of a cron one     |
| stragglers   | the same, again, after SETTLE_SECONDS           | what in-flight deliveries made as they ended |
| usage        | table partition `USAGE#<p>`                     | resource and daily counters               |
| audit        | table partition `AUDIT#<p>`                     | the audit log                             |
| project      | table partition `PROJ#<p>`                      | key records (keys retired), the project   |

Not found by any of these, so left to their TTL: idempotency records (Powertools' table, keyed
by a hash of project, operation and key: 24 h) and request-id reservations (`IDS#<hash>`, 24 h);
replay jobs made before replays were indexed (their TTL: 30 days); a cron job's runs skipped over
the plan's limit after the job itself was deleted earlier (no delivery names them); OAuth2 access
tokens shared between deliver containers (`OAUTH#<hash>`, sealed; an hour past their expiry, at
most a day and an hour)."""
from concurrent.futures import ThreadPoolExecutor

from ...aws import keys, resources, store
from ..cron import cron
from ..delivery import delivery_index
from ..replays import replays
from ..tenancy import counters, projects

PAGE = 100          # items claimed and deleted per step (one BatchGetItem checks them)
MAX_QUERIES = 35    # reads per step: a small project's 21 empty delivery shards (and every read before them) take one step
SETTLE_SECONDS = resources.DELIVER_FUNCTION_TIMEOUT + 30
THREADS = 8         # deletes of a page at once
LIST_INDEX = "ix_list"   # every delivery of a project, in delivery_index.partitions
COUNTED = ("deliveries", "cron_jobs", "cron_runs", "queues", "flows", "endpoints", "replays", "api_keys", "other")

# phase -> seconds to wait after it, before the next one starts
PHASES = {"events": 0, "cron_jobs": 0, "replays": 0, "queues": 0, "flows": 0, "endpoints": 0,
          "deliveries": SETTLE_SECONDS, "stragglers": 0, "usage": 0, "audit": 0, "project": 0}
NAMES = list(PHASES)


def sources(phase: str, project_id: str) -> list[tuple]:
    """What a phase walks, in order: ("keys", [(pk, sk)]), ("gsi1", value, walk_each_partition),
    ("shard", ix_list partition value) or ("table", partition key)."""
    p = project_id
    return {
        "events": [("keys", [keys.events_config(p)])],
        "cron_jobs": [("gsi1", keys.cron_jobs_of(p), True)],
        "replays": [("gsi1", replays.jobs_of(p), True)],
        "queues": [("gsi1", keys.queues_of(p), True),   # and topics: a subscription is a queue (services/topics)
                   ("gsi1", keys.subscriptions_of(p), True), ("table", keys.topics_of(p)),
                   ("table", keys.subscription(p, "")[0]), ("table", keys.event_types_of(p))],
        "flows": [("gsi1", keys.flows_of(p), False)],
        "endpoints": [("gsi1", keys.endpoints_of(p), False)],
        "deliveries": [("shard", v) for v in delivery_index.partitions(p)],
        "stragglers": [("shard", v) for v in delivery_index.partitions(p)],
        "usage": [("table", counters.counter_key(p, "api_keys")[0])],   # USAGE#<p>: every counter of the project
        "audit": [("table", keys.audit_of(p))],   # services/audit/audit_log.py
        "project": [("table", keys.project(p)[0])],
    }[phase]


def start() -> dict:
    """The position of a walk that has not begun."""
    return {"phase": 0, "part": 0, "cursor": None, "child": None, "child_cursor": None}


def gather(project_id: str, pos: dict) -> tuple[list[tuple[str, str]], dict, float]:
    """Up to PAGE keys from `pos` on (some may be gone already: the caller checks), the position
    after them, and the seconds to wait before the next step (a phase that asks for it ended).
    The walk is over when the position's phase is past the last."""
    pos, found, reads = dict(pos), [], 0
    while len(found) < PAGE and reads < MAX_QUERIES and pos["phase"] < len(NAMES):
        room = PAGE - len(found)
        if pos["child"]:   # a cron job's, replay job's or queue's own partition
            reads += 1
            items, nxt = store.query_page(None, pos["child"], limit=room, cursor=pos["child_cursor"],
                                          newest_first=False)
            found += [(i["pk"], i["sk"]) for i in items]
            pos.update(child=pos["child"] if nxt else None, child_cursor=nxt)
            continue
        phase = NAMES[pos["phase"]]
        parts = sources(phase, project_id)
        if pos["part"] >= len(parts):
            pos.update(phase=pos["phase"] + 1, part=0, cursor=None)
            if PHASES[phase]:
                return found, pos, PHASES[phase]
            continue
        reads += parts[pos["part"]][0] != "keys"
        keys_found, nxt, child = _read(parts[pos["part"]], pos["cursor"], room)
        found += keys_found
        pos.update(cursor=nxt, child=child, child_cursor=None)
        if nxt is None:
            pos.update(part=pos["part"] + 1)
    return found, pos, 0


def _read(source: tuple, cursor: str | None, room: int) -> tuple[list[tuple[str, str]], str | None, str | None]:
    """One read of a source: (keys found, the cursor after them or None at its end, a partition
    to walk next)."""
    kind = source[0]
    if kind == "keys":
        return list(source[1]), None, None
    if kind == "gsi1":
        _, value, each = source
        items, nxt = store.query_page("gsi1", value, limit=1 if each else room, cursor=cursor, newest_first=False)
        if each:   # the partition holds the item itself: it is deleted by the partition's walk
            return [], nxt, items[0]["pk"] if items else None
        return [(i["pk"], i["sk"]) for i in items], nxt, None
    if kind == "table":
        items, nxt = store.query_page(None, source[1], limit=room, cursor=cursor, newest_first=False)
        return [(i["pk"], i["sk"]) for i in items], nxt, None
    items, nxt = store.query_range(LIST_INDEX, resources.DELIVERY_INDEXES[LIST_INDEX], source[1],
                                   resources.DELIVERY_INDEX_SORT, lo="0", hi="~", limit=room, cursor=cursor,
                                   newest_first=False)
    found = []
    batches = [(i["pk"], i["sk"]) for i in items if i["pk"].startswith(delivery_index.BATCH_PREFIX)]
    lists = store.get_many(batches) if batches else {}
    for i in items:
        found.append((i["pk"], i["sk"]))
        members = (lists.get((i["pk"], i["sk"])) or {}).get("ids", [])   # a batch's list entry
        found += [keys.delivery(m) for m in members]
        # a large payload's own item (services/delivery/payloads.split), where there is one
        found += [keys.payload(d) for d in [*members, *([i["pk"].split("#", 1)[1]] if i["pk"].startswith("DLV#") else [])]]
        if i.get("ix_cron"):   # a cron run's record, in its job's partition (there still if the job was deleted)
            found.append(keys.cron_run(i["ix_cron"].split("#", 1)[1], i["pk"].split("#", 1)[1]))
    return found, nxt, None


def existing(project_id: str, found: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """The items of `found` that exist and are this project's (read strongly consistent: an index
    may still show an item just deleted, and a page is counted by what it holds)."""
    items = store.get_many(found) if found else {}
    return {k: v for k, v in items.items() if v.get("project_id", project_id) == project_id}


def category(pk: str, sk: str) -> str:
    if sk == "DLV":
        return "deliveries"
    if sk == "CRON":
        return "cron_jobs"
    if sk.startswith("RUN#"):
        return "cron_runs"
    if sk == "QUEUE":
        return "queues"
    if pk.startswith("FLOW#"):
        return "flows"
    if sk == "ENDPOINT":
        return "endpoints"
    if sk == replays.SORT_KEY:
        return "replays"
    if pk.startswith("PROJ#") and sk.startswith("KEY#"):
        return "api_keys"
    return "other"


def delete(project_id: str, page: list[dict], retire_until: float) -> None:
    """Delete a claimed page; safe to repeat (a delete of what is gone does nothing). A cron
    job's schedules go before its record, a key's hash record is retired before the project's
    record of the key (expunge.py: the report stays readable with it)."""
    def one(entry: dict) -> None:
        pk, sk = entry["pk"], entry["sk"]
        if sk == "CRON":
            cron.drop_schedules(pk.split("#", 1)[1])
        if pk.startswith("PROJ#") and sk.startswith("KEY#") and entry.get("key_hash"):
            projects.retire_key(project_id, entry, retire_until)
        store.delete(pk, sk)
    if THREADS <= 1 or len(page) <= 1:
        for entry in page:
            one(entry)
        return
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="expunge") as pool:
        list(pool.map(one, page))
