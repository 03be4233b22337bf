"""The reconciler: the backstop that makes SQS and EventBridge Scheduler converge to DynamoDB.

Every minute (on AWS an EventBridge rule runs the `reconcile` function; the local stack runs it
on a thread), it reads the due markers that have fallen due (core/due.py) — a Query per shard of
the sparse `gsi3` index, so it costs in proportion to what is due, not to what is stored — and
finishes what each record still owes:

- a delivery waiting for an attempt whose work is not in SQS yet (a long wait coming within
  SQS's reach), or whose attempt should have happened by now (a send that failed, a function
  that died): its work is sent (again), the wait before the next check doubling each time;
  after due.MAX_REPAIRS repairs it is failed, visibly and replayably (poison);
- an ended delivery whose notices (dead-letter notice, callback, delivery.failed event) were
  not all made (services/delivery/notices.py);
- a finished bulk replay whose replay.finished event was not emitted;
- a message written held whose queue accepts by now (a publish that raced a PUT);
- a queue whose release of held messages did not finish;
- an open circuit breaker whose probe is due (one held message goes), or a closed one whose
  release of held messages did not finish;
- a cron job whose schedules may not match its record, or whose delete did not finish;
- a cron job with a catch-up window whose scheduled times are due a look: runs that never
  fired are fired, or reported when too old (cron_catchup).

Each repair is one conditional write before the send it implies, so two reconcilers running at
once (or a reconciler racing the deliver function) never double a send: the loser's write fails."""
import logging
from collections import Counter

from ... import observability
from ...aws import dispatch, store
from ...core import clock, due
from ..cron import cron, cron_catchup
from ..delivery import deliveries, notices, replays

from ..receivers import circuit_breaker, endpoints, holding

log = logging.getLogger(__name__)

MAX_ITEMS_PER_SHARD = 250   # per run: a backlog larger than this is worked off over several minutes


def run(now: float | None = None) -> dict:
    """One pass over every shard. Returns how many items ended in each outcome."""
    now = clock.now() if now is None else now
    outcomes: Counter = Counter()
    for shard in range(due.SHARDS):
        for pk, sk in store.keys_up_to(due.INDEX, due.partition(shard), due.sort_key(now), MAX_ITEMS_PER_SHARD):
            try:
                outcomes[_finish(store.get(pk, sk), now)] += 1
            except Exception:  # noqa: BLE001 - one item must not stop the rest; it stays due
                log.exception("could not reconcile %s", pk)
                outcomes["error"] += 1
    if outcomes:
        log.info("reconciled", extra={"outcomes": dict(outcomes)})
    observability.repaired("delivery", outcomes.get("repaired", 0))        # a lost send, sent again
    observability.repaired("queue_release", outcomes.get("released", 0))   # an unfinished release, finished
    return dict(outcomes)


def _finish(item: dict | None, now: float) -> str:
    if item is None or "gsi3sk" not in item or item["gsi3sk"] > due.sort_key(now):
        return "moved"   # finished, or re-marked later, since the index showed it
    kind, sk = item.get("due"), item["sk"]
    if sk == "DLV":
        if kind == due.HELD:
            return holding.recheck_held(item, blocked=bool(item.get("held_by")) and circuit_breaker.holds(item["held_by"]))
        return finish_delivery(item, now)
    if sk == "ENDPOINT":   # a circuit breaker: its probe is due, or its release did not finish
        if kind == due.PROBE and item.get("state") == "open":
            return endpoints.release_probe(item, now)
        endpoints.release_held(item)
        return "released"
    if sk == "QUEUE":
        holding.finish_release(item)
        return "released"
    if sk == "CRON":
        return "deleted" if cron.converge(item) is None else "synced"
    if sk == "WATCH":
        return cron_catchup.check(item, now)
    if sk == replays.SORT_KEY:
        replays.announce(item)
        return "announced"
    _unmark(item)
    return "unmarked"


def finish_delivery(record: dict, now: float) -> str:
    state, kind, pk = record["state"], record.get("due"), record["pk"]
    if state in deliveries.ACTIVE:
        n = record["attempt_count"] + 1
        at = record.get("next_attempt_at") or record["deliver_at"]
        repairs = record.get("repairs", 0) + (1 if kind == due.CHECK else 0)
        if repairs > due.MAX_REPAIRS:
            failed = deliveries.fail(record, n, f"stranded: attempt {n} was queued {repairs} times and never "
                                                "completed; see the deliver function's logs, then retry the delivery")
            if failed:
                notices.finish(failed)
            return "poison"
        if at - now > due.SQS_LEAD:   # not yet within SQS's reach: look again when it is
            sets, send = due.mark(pk, at - due.SQS_LEAD, due.SEND), False
        else:
            sets = {**due.mark(pk, due.check_after(max(at, now), record["timeout_seconds"], repairs), due.CHECK),
                    "enqueued": n, "repairs": repairs}
            send = True
        try:
            store.update(pk, record["sk"], sets, names={"#st": "state"},
                         condition="attempt_count = :c AND #st = :st AND gsi3sk = :sk",
                         values={":c": record["attempt_count"], ":st": state, ":sk": record["gsi3sk"]})
        except store.ConditionFailed:
            return "moved"
        if send:
            dispatch.enqueue(deliveries.work(record["delivery_id"], n, at), at - now)
        return ("sent" if kind == due.SEND else "repaired") if send else "waiting"
    if state in ("succeeded", "failed") and notices.owed(record):
        notices.finish(record)   # its callback, its event, its dead-letter notice
        return "dead-lettered" if state == "failed" else "notified"
    _unmark(record)
    return "unmarked"


def _unmark(item: dict) -> None:
    try:
        store.update(item["pk"], item["sk"], due.unmark(), condition="gsi3sk = :sk",
                     values={":sk": item["gsi3sk"]})
    except store.ConditionFailed:
        pass
