"""The due index: how DynamoDB, the one source of truth, says what SQS and Scheduler still owe it.

Every record whose state implies work outside DynamoDB (a delivery waiting for an attempt, a
held message to re-check, a queue releasing its held messages, a cron job whose schedules are
being changed) carries a *marker* written in the same write that put it in that state: the
time by which that work must have happened. The write that finishes the work removes or moves
the marker, so on the happy path a marker costs no write of its own. The reconciler reads the
markers that are past due, by Query on the sparse index `gsi3` (only marked items are in it),
and finishes the work; its cost grows with what is stranded, never with what is stored.

Markers are spread over SHARDS index partitions (by a hash of the item key) so no partition
takes more than its share of index writes; the reconciler queries each shard.

Work handed to SQS at once carries no marker (HANDOFF_GRACE below): the message is its lease.

The same index carries long waits: a delivery due in more than SQS_LEAD seconds gets no SQS
message at all, only a marker at (due time - SQS_LEAD); the reconciler's sweep then sends it
with a delay SQS can hold. A one-year delay costs what a one-hour delay does."""
import hashlib

INDEX = "gsi3"
SHARDS = 128  # no partition takes over 1/100 of the deployment's timers; 1,000,000 a minute: ~130 index writes/s each
SQS_LEAD = 840          # < SQS's 900 s ceiling: a swept message always fits one DelaySeconds
RECONCILE_EVERY = 60    # seconds between reconciler runs (AWS: an EventBridge rule; locally a thread)
CHECK_MARGIN = 60       # an ended delivery's notices (or a finished job's event) are looked at this long after
HELD_RECHECK = 60       # a message written held is re-checked once, this long after (its queue may accept by then)
SYNC_GRACE = 60         # a cron job or queue change not finished by then is finished by the reconciler
MAX_REPAIRS = 5         # a CHECK on an active delivery (only records written before issue 22) repaired this often is failed
# Work handed to SQS needs no marker: SQS keeps the message until the deliver function has
# recorded its attempt (a crash gives it back; the attempt's lease bounds how soon). Where no
# message is leased (an API request, the reconciler), the work is sent *before* the write that
# owes it, so a 2xx means both are done; a message may then arrive before that write lands, and
# comes back later while it is younger than HANDOFF_GRACE (measured from its due time): longer
# than any function's timeout, so past it the writer is surely dead and the work was never
# accepted (services/deliver/attempts.py).
HANDOFF_GRACE = 900
LEASE_MARGIN = 60       # an attempt's message stays invisible for its timeout plus this, then comes back

# What the reconciler does when a marker falls due (`due` attribute).
SEND = "send"           # a delivery whose next attempt has no SQS message yet: send it
CHECK = "check"         # what an ended delivery or a replay job owes (an active delivery: before issue 22)
HELD = "held"           # a held message: release it if its queue accepts now, else unmark
RELEASE = "release"     # a queue whose held messages are being released: finish the release
SYNC = "sync"           # a cron job whose schedules may not match it (or that is being deleted)
CATCH_UP = "catch_up"   # a cron job's watch (catch-up window): look for scheduled times that never fired
PROBE = "probe"         # an open circuit breaker's endpoint: release one held message as its probe
KINDS = (SEND, CHECK, HELD, RELEASE, SYNC, CATCH_UP, PROBE)

MARK_FIELDS = ("gsi3pk", "gsi3sk", "due")


def shard_of(pk: str) -> int:
    return hashlib.sha256(pk.encode()).digest()[0] % SHARDS


def partition(shard: int) -> str:
    return f"due#{shard}"


def sort_key(at: float) -> str:
    """Milliseconds, zero-padded, so string order is time order."""
    return f"{max(0, int(at * 1000)):015d}"


def mark(pk: str, at: float, kind: str) -> dict:
    """The fields to SET on an item so the reconciler looks at it from `at` on."""
    assert kind in KINDS, kind
    return {"gsi3pk": partition(shard_of(pk)), "gsi3sk": sort_key(at), "due": kind}


def unmark() -> dict:
    """The fields to REMOVE (None means REMOVE in store.update) when nothing is owed any more."""
    return {f: None for f in MARK_FIELDS}


def waiting_mark(pk: str, next_attempt_at: float, now: float) -> tuple[dict, bool]:
    """The marker of a delivery waiting for its next attempt, and whether its work message is
    handed to SQS now (True: no marker at all, the message is its lease — see HANDOFF_GRACE) or
    left for the timer sweep (the wait is longer than SQS can hold)."""
    if next_attempt_at - now > SQS_LEAD:
        return mark(pk, next_attempt_at - SQS_LEAD, SEND), False
    return unmark(), True
