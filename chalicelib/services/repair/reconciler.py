"""The reconcile function, every minute (on AWS an EventBridge rule; the local stack runs it on a
thread): the timers' tick (repair/timers.py: what falls due, handed out shard by shard), and
the sweep of what SQS gave up on (repair/dead_letters.py).

Work handed to SQS needs no repair: its message is its lease (core/due.HANDOFF_GRACE), so a
dispatch queue running late is never mistaken for work lost. What can be lost is only what SQS
itself gives up on, which the sweep fails visibly."""
import logging
import time
from collections import Counter

from ... import observability
from ...core import clock
from . import dead_letters, timers

log = logging.getLogger(__name__)

RUN_BUDGET = 45             # seconds a run may take (the next starts RECONCILE_EVERY after this one)


def run(now: float | None = None, budget: float = RUN_BUDGET, fan_out: bool = False) -> dict:
    """One tick of the timers and one sweep, within `budget` seconds. Returns how many items
    ended in each outcome (empty: nothing was owed)."""
    now = clock.now() if now is None else now
    deadline = time.monotonic() + budget
    outcomes: Counter = timers.tick(now, deadline, fan_out)
    try:
        outcomes.update(dead_letters.sweep())
    except Exception:  # noqa: BLE001 - the next run looks again
        log.exception("could not sweep the dead-letter queue")
        outcomes["error"] += 1
    if outcomes:
        log.info("reconciled", extra={"outcomes": dict(outcomes)})
    observability.repaired("delivery", outcomes.get("repaired", 0))        # a lost send, sent again
    observability.repaired("queue_release", outcomes.get("released", 0))   # an unfinished release, finished
    observability.repair_failed(outcomes.get("error", 0), outcomes.get("quarantined", 0))
    return dict(outcomes)
