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

from ...aws import dispatch, store
from ...core import clock, due
from ..cron import cron
from ..delivery import deliveries
from ..receivers import holding

log = logging.getLogger(__name__)

WAITING = ("queued", "waiting", "retrying")   # states whose next attempt is a message on the dispatch queue
_FILTERS = {
    "cron": ("sk = :cron", {}, {":cron": "CRON"}),
    "waiting": ("sk = :dlv AND #st IN (:queued, :waiting, :retrying)",
                {"#st": "state"}, {":dlv": "DLV", ":queued": "queued", ":waiting": "waiting", ":retrying": "retrying"}),
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
    """Make the EventBridge schedules of every cron job match its record (expressions, zone,
    enabled); a job left `pending` or `deleting` by a change that died half-way is finished
    (cron.converge). Returns how many jobs were synced; a job that fails is logged and left to
    the reconciler (its marker is still there)."""
    synced = 0
    for record in _scan("cron")["cron"] if records is None else records:
        try:
            synced += cron.resync(record) is not None
        except Exception:  # noqa: BLE001 - one job must not stop the rest
            log.exception("could not resync the schedules of %s", record.get("cron_id"))
    return synced


def requeue_pending(records: list[dict] | None = None) -> int:
    """Queue again the next attempt of every delivery in state queued or retrying whose wait SQS
    can hold (its work was in SQS, and was lost with it): attempt `attempt_count + 1`, not before
    `next_attempt_at`, the wait computed from now and rounded up (dispatch.hop_delay), so it is
    never early. A longer wait was never in SQS: its due marker sends it in time. A delivery
    whose message still exists gets a duplicate, which is harmless. Returns how many were queued."""
    records = _scan("waiting")["waiting"] if records is None else records
    now = clock.now()
    works = []
    for r in records:
        at = r.get("next_attempt_at") or deliveries.deliver_at(r)
        if at - now <= due.SQS_LEAD:
            works.append((deliveries.work_of(r, r["attempt_count"] + 1, at), at - now))
    dispatch.enqueue_many(works)
    return len(works)


def release_held(queue_records: list[dict] | None = None) -> int:
    """Finish the release of held messages of every queue that accepts (holding.finish_release),
    in case a release was interrupted. Returns how many messages were released in this pass
    (more may follow through release tasks)."""
    released = 0
    for q in _scan("queue")["queue"] if queue_records is None else queue_records:
        if not holding.accepts(q):
            continue
        try:
            released += holding.finish_release(q)
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
        return "cron"
    if sk == "DLV" and item.get("state") in WAITING:
        return "waiting"
    if sk == "QUEUE":
        return "queue"
    return None

