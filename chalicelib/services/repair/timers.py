"""Timers: the due index (core/due.py), worked as a fan-out that scales with what falls due.

Every minute the tick (the `reconcile` function; locally a thread) looks at each of the
index's SHARDS partitions; each that has anything due gets one task on the dispatch queue
(`{timers: {s}}`), and the deliver function works it like any other message (the router), as
many shards at once as its concurrency allows: THREADS items at a time, for at most
TASK_BUDGET seconds or TASK_ITEMS items, then the task continues in a new message. A lease per
shard (one small item) keeps the next tick from starting a second task on a shard still worked;
a task lost for good leaves its lease to expire, and the tick after that starts another.
Tests and `run(fan_out=False)` work the shards inline instead.

What a due item owes: a delivery whose wait has come within SQS's reach (its work handed to
SQS, then its marker dropped), a held message to re-check, a queue or an endpoint whose release
did not finish, an open breaker's probe, a cron job to converge with Scheduler or to look at
for missed runs, a bulk replay's finished event, an expunge whose step was lost, an ended
delivery's notices. Each is one conditional write around the send it implies, so two workers on
one item never double it.

An item whose work raises never blocks its shard: its marker moves on with backoff and, after
QUARANTINE_AFTER tries, it is quarantined, visibly (set_aside)."""
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ...aws import dispatch, keys, store
from ...core import clock, due
from ..cron import cron, cron_catchup
from ..delivery import deliveries
from ..notices import notices
from ..replays import replays
from ..expunge import expunge
from ..receivers import circuit_breaker, endpoints, holding

log = logging.getLogger(__name__)

MAX_ITEMS_PER_SHARD = 250   # per shard in an inline run
TASK_ITEMS = 5000           # per fanned-out task, then it continues in a new message
TASK_BUDGET = 60            # seconds per task (the deliver function may run 360)
THREADS = 32                # items worked at once by one task (I/O-bound; boto3's pool holds 32)
QUARANTINE_AFTER = 5        # an item whose work raised this often is quarantined: visible, alarmed
ERROR_BACKOFF_MAX = 3600    # its marker moves on by 1, 2, 4 ... minutes, at most an hour
LEASE_SECONDS = TASK_BUDGET + 60
_pool = None


def _executor():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="timers")
    return _pool


def tick(now: float, deadline: float, fan_out: bool) -> Counter:
    """Every shard, from a different first one each minute (so a tick out of time starves no
    shard): worked inline, or, with `fan_out`, handed out as one task per shard with anything due."""
    outcomes: Counter = Counter()
    first = int(now // due.RECONCILE_EVERY) % due.SHARDS
    for shard in [(first + i) % due.SHARDS for i in range(due.SHARDS)]:
        if time.monotonic() > deadline:
            outcomes["out_of_time"] += 1
            break
        if fan_out:
            if store.keys_up_to(due.INDEX, due.partition(shard), due.sort_key(now), 1) and _lease(shard, now):
                dispatch.enqueue({"timers": {"s": shard}})
                outcomes["shards handed out"] += 1
            continue
        more = work_shard(shard, now, deadline, MAX_ITEMS_PER_SHARD, outcomes)
        if more and time.monotonic() > deadline:
            outcomes["out_of_time"] += 1
            break
    return outcomes


def continue_timers(task: dict) -> str:
    """One shard's task (the router hands it here): its due items worked, then the task goes on
    in a new message if more are due, or its lease is dropped."""
    shard, now = int(task["s"]), clock.now()
    outcomes: Counter = Counter()
    more = work_shard(shard, now, time.monotonic() + TASK_BUDGET, TASK_ITEMS, outcomes)
    if more:
        _lease(shard, now, renew=True)
        dispatch.enqueue({"timers": {"s": shard}})
    else:
        store.delete(*keys.timer_lease(shard))
    if outcomes:
        log.info("timers", extra={"shard": shard, "outcomes": dict(outcomes)})
    return "timers"


def work_shard(shard: int, now: float, deadline: float, limit: int, outcomes: Counter) -> bool:
    """Up to `limit` due items of one shard, THREADS at a time, until `deadline`. Returns whether
    more may be due."""
    found = store.keys_up_to(due.INDEX, due.partition(shard), due.sort_key(now), limit)
    for start in range(0, len(found), THREADS * 4):
        if time.monotonic() > deadline:
            return True
        outcomes.update(_executor().map(lambda key: _one(key, now), found[start:start + THREADS * 4]))
    return len(found) >= limit


def _one(key: tuple[str, str], now: float) -> str:
    item = None
    try:
        item = store.get(*key)
        outcome = due_item(item, now)
        if item and item.get("repair_errors"):
            _clear_errors(item)
        return outcome
    except Exception as e:  # noqa: BLE001 - one item must not stop the rest, nor hide them
        log.exception("could not work a due item")
        return set_aside(item, e, now)


def _lease(shard: int, now: float, renew: bool = False) -> bool:
    """The shard's task lease: taken if free or expired (renewed by its own task)."""
    pk, sk = keys.timer_lease(shard)
    try:
        store.put({"pk": pk, "sk": sk, "until": now + LEASE_SECONDS},
                  condition=None if renew else "attribute_not_exists(pk) OR #u < :now",
                  names=None if renew else {"#u": "until"}, values=None if renew else {":now": now})
        return True
    except store.ConditionFailed:
        return False


def set_aside(item: dict | None, error: Exception, now: float) -> str:
    """A repair raised: its marker moves on with backoff (so the items behind it in its shard
    are reached), and the error is kept on the item; after QUARANTINE_AFTER tries it is
    `quarantined` — still retried hourly, shown with its error in the deliveries list, counted
    by the RepairsQuarantined metric, which has an alarm. Only the exception's type and first
    line are kept: no payload, header or secret is in them."""
    if not item or "gsi3sk" not in item:
        return "error"
    tries = int(item.get("repair_errors", 0)) + 1
    later = now + min(ERROR_BACKOFF_MAX, due.RECONCILE_EVERY * 2 ** (tries - 1))
    quarantined = tries >= QUARANTINE_AFTER
    text = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    try:
        store.update(item["pk"], item["sk"], {
            **due.mark(item["pk"], later, item.get("due") or due.CHECK), "repair_errors": tries,
            "repair_error": text, "repair_error_at": now, "quarantined": True if quarantined else None},
            condition="gsi3sk = :sk", values={":sk": item["gsi3sk"]})
    except store.ConditionFailed:
        return "moved"   # finished or re-marked meanwhile
    except Exception:  # noqa: BLE001 - the store itself is failing: the item stays due, as before
        log.exception("could not set aside %s", item["pk"])
        return "error"
    return "quarantined" if quarantined else "error"


def _clear_errors(item: dict) -> None:
    """An item that failed before was repaired: its error goes (never re-creating a deleted item)."""
    try:
        store.update(item["pk"], item["sk"], {"repair_errors": None, "repair_error": None,
                                              "repair_error_at": None, "quarantined": None},
                     condition="attribute_exists(pk)")
    except store.ConditionFailed:
        pass


def due_item(item: dict | None, now: float) -> str:
    """What one due item owes, done; the outcome's name."""
    if item is None or "gsi3sk" not in item or item["gsi3sk"] > due.sort_key(now):
        return "moved"   # finished, or re-marked later, since the index showed it
    kind, sk = item.get("due"), item["sk"]
    if sk == "DLV":
        if kind == due.HELD:
            return holding.recheck_held(item, blocked=bool(item.get("held_by")) and circuit_breaker.holds(item["held_by"]))
        return finish_delivery(item, now)
    if sk == "ENDPOINT":   # a circuit breaker: its probe is due, or its release did not finish
        circuit_breaker.tell(item)   # an event its last transition still owes
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
        return replays.on_due(item)
    if sk == expunge.SORT_KEY:
        return expunge.on_due(item)
    _unmark(item)
    return "unmarked"


def finish_delivery(record: dict, now: float) -> str:
    """A delivery whose marker fell due. Active: a timer (a wait longer than SQS holds has come
    within its reach: its work is handed to SQS, *then* the marker goes — a crash in between
    sends it again, a duplicate at worst, never a loss), or, on a record written before work
    was handed first, a check that its attempt happened. Ended: its notices."""
    state, kind, pk = record["state"], record.get("due"), record["pk"]
    if state in deliveries.ACTIVE:
        n = record["attempt_count"] + 1
        at = record.get("next_attempt_at") or deliveries.deliver_at(record)
        if at - now > due.SQS_LEAD:   # not yet within SQS's reach: look again when it is
            return _move(record, due.mark(pk, at - due.SQS_LEAD, due.SEND), "waiting")
        repairs = record.get("repairs", 0) + (1 if kind == due.CHECK else 0)
        if kind == due.CHECK and repairs > due.MAX_REPAIRS:
            failed = deliveries.fail(record, n, f"stranded: attempt {n} was queued {repairs} times and never "
                                                "completed; see the deliver function's logs, then retry the delivery")
            if failed:
                notices.finish(failed)
            return "poison"
        dispatch.enqueue(deliveries.work_of(record, n, at), at - now)
        _move(record, {**due.unmark(), "enqueued": n, "repairs": repairs}, "sent")
        return "sent" if kind == due.SEND else "repaired"
    if state in ("succeeded", "failed") and notices.owed(record):
        notices.finish(record)   # its callback, its event, its dead-letter notice
        return "dead-lettered" if state == "failed" else "notified"
    _unmark(record)
    return "unmarked"


def _move(record: dict, sets: dict, outcome: str) -> str:
    """The record's marker moved (or gone), if nothing else moved it since the index showed it."""
    try:
        store.update(record["pk"], record["sk"], sets, names={"#st": "state"},
                     condition="attempt_count = :c AND #st = :st AND gsi3sk = :sk",
                     values={":c": record["attempt_count"], ":st": record["state"], ":sk": record["gsi3sk"]})
    except store.ConditionFailed:
        return "moved"
    return outcome


def _unmark(item: dict) -> None:
    try:
        store.update(item["pk"], item["sk"], due.unmark(), condition="gsi3sk = :sk",
                     values={":sk": item["gsi3sk"]})
    except store.ConditionFailed:
        pass
