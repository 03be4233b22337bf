"""Holding and releasing: a delivery whose receiver cannot take it now is *held*, visibly, and
released in publish order when it can. Two things hold: a queue without an endpoint (or paused),
and an endpoint's open circuit breaker (`held_by`, services/receivers/circuit_breaker.py), which
holds webhook sends and cron runs too.

Convergence (core/due.py): every message written held is marked for one re-check, and a queue
that may send again is marked until its held messages are all released, so neither a crash
mid-release nor a publish racing the PUT (or the held index lagging) leaves a message held on a
queue that accepts."""
from ...aws import dispatch, keys, store
from ...core import clock, due
from ..delivery import deliveries, delivery_index

RELEASE_PAGE = 200   # held messages released per step; more continue through the dispatch queue
RELEASE_RECHECK = 900   # while a release task carries on, the queue's RELEASE marker waits this long


def find(project_id: str, name: str) -> dict | None:
    return store.get(*keys.queue(project_id, name))


def accepts(queue: dict | None) -> bool:
    """Whether messages may go out now (an endpoint or a subscription's AWS destination, not paused)."""
    return bool(queue and (queue.get("url") or queue.get("destination")) and not queue.get("paused"))


def finish_release(queue: dict) -> int:
    """Release the queue's held messages (a page here, the rest through release tasks), then
    drop the queue's marker if no newer change set another meanwhile. Returns how many
    messages this step released.

    While a release task carries on, the marker moves RELEASE_RECHECK later instead (as an
    endpoint's does, endpoints.release_held), at every step of the chain, and its last step
    drops it. Left where it was, the marker fell due while the chain was still going and the
    reconciler started another chain, one more every minute. Moved, it falls due only if the
    chain stops (its task lost for good, in the dead-letter queue): then another release runs.
    A queue released without a marker (its endpoint's breaker closed) gets one the same way."""
    released, more = release_held(queue["project_id"], queue["name"]) if accepts(queue) else (0, False)
    if more:
        _release_later(queue, clock.now() + RELEASE_RECHECK)
        return released
    if "gsi3sk" not in queue:
        return released
    try:
        store.update(queue["pk"], queue["sk"], due.unmark(), condition="gsi3sk = :sk",
                     values={":sk": queue.get("gsi3sk")})
    except store.ConditionFailed:
        pass
    return released


def _release_later(queue: dict, at: float) -> None:
    """The queue's RELEASE marker moved to `at`, unless a newer change set another meanwhile."""
    had = "gsi3sk" in queue
    try:
        store.update(queue["pk"], queue["sk"], due.mark(queue["pk"], at, due.RELEASE),
                     condition="gsi3sk = :sk" if had else "attribute_exists(pk) AND attribute_not_exists(gsi3sk)",
                     values={":sk": queue["gsi3sk"]} if had else None)
    except store.ConditionFailed:
        pass


def release_held(project_id: str, name: str) -> tuple[int, bool]:
    """Move held messages back to the dispatch queue in publish order, each at its deliver_at.
    A page at a time; if more are held, the rest continue through a release task. Returns
    (how many were released, whether more continue). The held index is eventually consistent: a message it does not show yet
    is released by its own re-check marker."""
    items, more = store.query_page("gsi2", keys.deliveries_in_state(project_id, keys.queue_kind(name), "held"),
                                   limit=RELEASE_PAGE, cursor=None, newest_first=False)
    released = release(items)
    if more:
        dispatch.enqueue({"release": {"p": project_id, "q": name}})
    return len(released), bool(more)


def release(msgs: list[dict]) -> list[dict]:
    """Held messages back on their way, in the order given: their work handed to SQS first
    (those whose wait SQS can hold), then each record held -> queued. A 2xx, a finished task or
    a dropped marker thus means both are done; if this raises, nothing was unheld and the
    caller's marker, task or request brings the release back. A message cancelled or released
    meanwhile keeps its state, and the work sent for it is dropped when it arrives
    (core/due.HANDOFF_GRACE). Returns the records released."""
    now = clock.now()
    plans = [(m, max(now, deliveries.deliver_at(m))) for m in msgs]
    dispatch.enqueue_many([(deliveries.work_of(m, m["attempt_count"] + 1, at), at - now)
                           for m, at in plans if at - now <= due.SQS_LEAD])
    return [r for r in (_unhold(m, at, now) for m, at in plans) if r]


def _unhold(msg: dict, at: float, now: float) -> dict | None:
    """One held message back to queued (its work already handed, or a timer marker for a wait
    longer than SQS holds); None if it was cancelled or released meanwhile."""
    waiting, _ = deliveries.waiting(msg, msg["attempt_count"] + 1, at, now)
    try:
        return store.update(msg["pk"], msg["sk"], {
            "state": "queued", "updated_at": now, **waiting, "held_by": None,
            **deliveries.state_keys({**msg, **waiting}, "queued"),
            **delivery_index.changed(msg, delivery_index.fields({**msg, "state": "queued"}))},
            condition="#st = :held", names={"#st": "state"}, values={":held": "held"})
    except store.ConditionFailed:
        return None


def release_oldest(project_id: str, name: str) -> bool:
    """Release the queue's oldest held message alone (an open circuit breaker's probe). Only if
    the queue accepts: a paused queue's (or one without an endpoint's) message, released, is held
    again by its queue before it reaches the endpoint, so it probes nothing; counting it as the
    probe starved the endpoint's other held deliveries (webhook sends, cron runs, its other
    queues' messages) every probe period, and the breaker never closed."""
    if not accepts(find(project_id, name)):
        return False
    items, _ = store.query_page("gsi2", keys.deliveries_in_state(project_id, keys.queue_kind(name), "held"), limit=1,
                                cursor=None, newest_first=False)
    return bool(release(items))


def recheck_held(msg: dict, blocked: bool = False) -> str:
    """A held message's re-check marker fell due: release it if its queue accepts now (and no
    circuit breaker holds it: `blocked`), else it stays held (a later PUT that lets the queue
    send, or its breaker closing, releases it) and loses its marker. A webhook send or a cron run
    held by its endpoint's breaker has no queue: only `blocked` keeps it."""
    on_queue = msg["kind"].startswith("queue:")
    if msg["state"] == "held" and not blocked and (not on_queue or accepts(find(msg["project_id"], msg["source"]["queue"]))):
        if release([msg]):
            return "released"
    try:
        store.update(msg["pk"], msg["sk"], due.unmark(), condition="#st = :held AND gsi3sk = :sk",
                     names={"#st": "state"}, values={":held": "held", ":sk": msg.get("gsi3sk")})
    except store.ConditionFailed:
        pass
    return "held"


def continue_release(task: dict) -> str:
    queue = find(task["p"], task["q"])
    if queue:
        finish_release(queue)
    return "released"


def hold(record: dict, n: int, held_by: str | None = None) -> str:
    """The queue lost its endpoint or was paused, or the delivery's endpoint's circuit breaker
    is open (`held_by`): keep the message, visibly, until released. Marked for one re-check: its queue
    (or endpoint) may accept again before a release could see it."""
    try:
        store.update(record["pk"], record["sk"], {
            "state": "held", "updated_at": clock.now(), "next_attempt_at": None, "held_by": held_by,
            **due.mark(record["pk"], clock.now() + due.HELD_RECHECK, due.HELD),
            **deliveries.state_keys(record, "held"),
            **delivery_index.changed(record, delivery_index.fields({**record, "state": "held"}))},
            condition="attempt_count = :prev AND #st IN (:q, :w, :r)", names={"#st": "state"},
            values={":prev": n - 1, ":q": "queued", ":w": "waiting", ":r": "retrying"})
    except store.ConditionFailed:
        pass
    return "held"
