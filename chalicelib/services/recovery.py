"""Rebuilding what lives outside DynamoDB from DynamoDB, the one durable truth: the EventBridge
Scheduler schedules of cron jobs, and the dispatch-queue work of deliveries waiting for an
attempt (a delay, a retry). The local stack runs it after loading its snapshot (moto lost SQS
and Scheduler); on AWS an operator can run it after losing a queue or a schedule group.

Everything here is safe to run twice, or while the service runs. A work message for an attempt
that is already recorded is a no-op (attempts are recorded with a conditional write, see
attempts.py); a cron firing is claimed by its run record; a schedule is put, never added.
Held messages stay held: only queues that accept (an endpoint, not paused) are released, in
case a release was interrupted.

Finding the records is one Scan with a filter. The gsi2 state partitions are per project and
kind (`{project}#{kind}#{state}`), and nothing lists those partitions, so a Scan is the only way
to see them all; recovery is rare (a restart, a disaster), so reading the whole table once is
acceptable. Do not call this on a request path. On AWS it runs with the operator's credentials:
the deployed functions' roles do not allow dynamodb:Scan, deliberately."""
import logging

from ..aws import dispatch, store
from ..core import clock
from . import cron, deliveries, queues

log = logging.getLogger(__name__)

WAITING = ("queued", "retrying")   # states whose next attempt is a message on the dispatch queue
_FILTERS = {
    "cron": ("sk = :cron AND (attribute_not_exists(#sync) OR #sync <> :deleting)",
             {"#sync": "sync"}, {":cron": "CRON", ":deleting": "deleting"}),
    "waiting": ("sk = :dlv AND #st IN (:queued, :retrying)",
                {"#st": "state"}, {":dlv": "DLV", ":queued": "queued", ":retrying": "retrying"}),
    "queue": ("sk = :queue", {}, {":queue": "QUEUE"}),
}


def recover(raw_items: list[dict] | None = None) -> dict:
    """All of it, from one Scan: schedules first, then waiting work, then held releases (after
    the requeue, so a message released here is not also requeued as `queued`). `raw_items`:
    the data table's items in DynamoDB's format when the caller has just written them all (the
    local stack restoring its snapshot), which spares the Scan."""
    found = _scan(*_FILTERS) if raw_items is None else _classify(map(store.from_raw, raw_items), _FILTERS)
    return {"schedules": resync_schedules(found["cron"]),
            "requeued": requeue_pending(found["waiting"]),
            "released": release_held(found["queue"])}


def resync_schedules(records: list[dict] | None = None) -> int:
    """Make the EventBridge schedules of every cron job not being deleted match its record
    (expressions, zone, enabled), as `cron._converge` does for one job; a job left `pending` by
    a change that died half-way is marked synced. Returns how many jobs were synced; a job that
    fails is logged and left for its next read to converge."""
    synced = 0
    for record in _scan("cron")["cron"] if records is None else records:
        try:
            _sync_one(record)
            synced += 1
        except Exception:  # noqa: BLE001 - one job must not stop the rest
            log.exception("could not resync the schedules of %s", record.get("cron_id"))
    return synced


def _sync_one(record: dict, rounds: int = 3) -> None:
    for _ in range(rounds):
        cron._sync_schedules(record, ["", ""])   # also drops a second schedule no longer needed
        current = store.get(record["pk"], record["sk"])
        if not current or current.get("sync") == "deleting":
            cron._drop_schedules(record["aws_expressions"], record["cron_id"])  # deleted meanwhile
            return
        if current["updated_at"] == record["updated_at"]:
            if current.get("sync") == "pending":
                cron._mark_synced(current)
            return
        record = current   # changed while we synced: converge to the newer record


def requeue_pending(records: list[dict] | None = None) -> int:
    """Queue the next attempt of every delivery in state queued or retrying: attempt
    `attempt_count + 1`, not before `next_attempt_at` (or `deliver_at`), the wait computed from
    now and rounded up (dispatch.hop_delay), so it is never early; a wait past SQS's 900 s hops
    again in the handler. A delivery whose message still exists gets a duplicate, which is
    harmless. Returns how many were queued."""
    records = _scan("waiting")["waiting"] if records is None else records
    now = clock.now()
    works, late_marks = [], []
    for r in records:
        n = r["attempt_count"] + 1
        at = r.get("next_attempt_at") or r.get("deliver_at") or now
        works.append((deliveries.work(r["delivery_id"], n, at), at - now))
        if r.get("enqueued", 0) < n:
            late_marks.append((r, n))
    dispatch.enqueue_many(works)
    for r, n in late_marks:   # the follow-up died before noting it: note it now, as it would have
        try:
            store.update(r["pk"], r["sk"], {"enqueued": n},
                         condition="attribute_not_exists(enqueued) OR enqueued < :v", values={":v": n})
        except store.ConditionFailed:
            pass
    return len(works)


def release_held(queue_records: list[dict] | None = None) -> int:
    """Release the held messages of every queue that accepts (queues.release_held), in case a
    release was interrupted. Returns how many messages were released in this pass (more may
    follow through release tasks)."""
    released = 0
    for q in _scan("queue")["queue"] if queue_records is None else queue_records:
        if not queues.accepts(q):
            continue
        try:
            released += queues.release_held(q["project_id"], q["name"])
        except Exception:  # noqa: BLE001 - one queue must not stop the rest
            log.exception("could not release the held messages of %s/%s", q["project_id"], q["name"])
    return released


def _scan(*kinds: str) -> dict[str, list[dict]]:
    """One paginated Scan of the data table returning the records matching each filter."""
    names, values, parts = {}, {}, []
    for kind in kinds:
        expression, n, v = _FILTERS[kind]
        names.update(n)
        values.update(v)
        parts.append(f"({expression})")
    return _classify(store.scan(" OR ".join(parts), names, values), kinds)


def _classify(items, kinds) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for item in items:
        kind = _kind_of(item)
        if kind in found:
            found[kind].append(item)
    for kind in ("waiting", "queue"):   # deliver (and release) in the order they were made
        if kind in found:
            found[kind].sort(key=lambda i: i["pk"])
    return found


def _kind_of(item: dict) -> str | None:
    """Which filter of _FILTERS the item matches (the same tests, in Python)."""
    sk = item.get("sk")
    if sk == "CRON":
        return "cron" if item.get("sync") != "deleting" else None
    if sk == "DLV" and item.get("state") in WAITING:
        return "waiting"
    if sk == "QUEUE":
        return "queue"
    return None

