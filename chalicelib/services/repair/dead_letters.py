"""What SQS gave up on. A work message received MAX_RECEIVE_COUNT times without an answer
(the deliver function crashed on it and could not count the crash, or was throttled) is moved
by SQS to the dead-letter queue; its delivery, which needs no marker while its work is in SQS
(core/due.HANDOFF_GRACE), would then wait for ever. Every reconciler run looks at a page of
the dead-letter queue: such a delivery is failed, visibly, with its attempts on record and
replayable, and its own dead-letter notice takes the message's place. Everything else there
(notices of failed deliveries, unreadable messages) is left for operators, visible again at once."""
import json
from collections import Counter

from ...aws import dispatch, keys, store
from ...core import clock
from ..cron import cron_runs
from ..delivery import deliveries
from ..notices import notices

PAGES = 10   # of 10 messages each, per run


def sweep() -> Counter:
    """Fail what SQS gave up on; how many of each outcome (what is left for operators is not
    counted: it is nothing to do)."""
    out: Counter = Counter()
    held = []   # received and not forgotten: visible again at the end, whatever happens
    try:
        for _ in range(PAGES):
            msgs = dispatch.dead_letters()
            if not msgs:
                break
            held += [m["ReceiptHandle"] for m in msgs]
            for m in msgs:
                work, firing = _work(m["Body"]), _firing(m["Body"])
                if work is None and firing is None:
                    continue
                out[_fail(*work) if work else _fire_or_fail(*firing)] += 1
                dispatch.forget_dead_letter(m["ReceiptHandle"])
                held.remove(m["ReceiptHandle"])
    finally:
        for start in range(0, len(held), 10):
            dispatch.return_dead_letters(held[start:start + 10])
    return out


def _work(body: str) -> tuple[str, int] | None:
    try:
        msg = json.loads(body)
        return str(msg["d"]), int(msg["n"])
    except (ValueError, KeyError, TypeError):
        return None


def _firing(body: str) -> tuple[str, str] | None:
    try:
        msg = json.loads(body)
        if "d" in msg or not isinstance(msg.get("cron"), str):
            return None
        cron_runs.epoch(msg["at"])
        return msg["cron"], msg["at"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _fire_or_fail(cron_id: str, at: str) -> str:
    """A cron firing SQS gave up on: its run is made now if it never was (late, never lost);
    a run made whose delivery was never attempted is failed visibly, like any work."""
    delivery_id = cron_runs.scheduled_run_id(cron_id, cron_runs.epoch(at), at)
    record = store.get(*keys.delivery(delivery_id))
    if record is None:
        return "fired late" if cron_runs.fire(cron_id, at, hand=True)[0] else "dead work dropped"
    return _fail(delivery_id, record["attempt_count"] + 1)


def _fail(delivery_id: str, n: int) -> str:
    record = store.get(*keys.delivery(delivery_id))
    if not record or record["attempt_count"] != n - 1 or record["state"] not in deliveries.ACTIVE:
        return "dead work dropped"   # its delivery moved on: nothing is owed
    failed = deliveries.fail(record, n, f"poison: SQS gave up on attempt {n}'s message after it was received "
                                        "5 times without an answer; see the deliver function's logs, then retry "
                                        "the delivery", clock.now())
    if failed:
        notices.finish(failed)
    return "poison"
