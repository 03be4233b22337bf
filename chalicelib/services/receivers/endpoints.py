"""The endpoints API: which target endpoints have failed, what their circuit breakers hold,
and releasing one by hand (services/receivers/circuit_breaker.py has the state machine)."""
import logging

from ...aws import dispatch, keys, store
from ...core import clock, validation
from ...core.errors import Conflict, NotFound
from . import circuit_breaker, holding

log = logging.getLogger(__name__)

RELEASE_PAGES = 5   # pages of a shared held partition read per release step (holding.RELEASE_PAGE each)
RELEASE_RECHECK = 900   # while a release task carries on, the endpoint's RELEASE marker waits this long


def held_count(item: dict) -> int:
    """Messages held on the endpoint's queues (held by its breaker, or by their queue), and the
    webhook sends and cron runs its breaker holds."""
    return (sum(store.count("gsi2", keys.deliveries_in_state(item["project_id"], keys.queue_kind(q), "held"))
                for q in sorted(item.get("queues") or []))
            + sum(store.count("gsi2", keys.deliveries_in_state(item["project_id"], k, "held"),
                              where={"held_by": item["endpoint_id"]}) for k in sorted(item.get("kinds") or [])))


def list_(project_id: str, params: dict) -> dict:
    items, nxt = store.query_page("gsi1", keys.endpoints_of(project_id), limit=validation.query_limit(params),
                                  cursor=params.get("cursor"), newest_first=False)
    return {"items": [circuit_breaker.view(i, held_count(i)) for i in items], "next_cursor": nxt}


def load(project_id: str, endpoint_id: str) -> dict:
    item = store.get(*keys.endpoint(endpoint_id)) if isinstance(endpoint_id, str) and len(endpoint_id) < 64 else None
    if not item or item.get("project_id") != project_id:
        raise NotFound(f"No endpoint '{str(endpoint_id)[:64]}' in this project; list them with "
                       "GET /v1/scheduling/endpoints.", field="endpoint_id")
    return item


def release(project_id: str, endpoint_id: str) -> dict:
    """Close the breaker by hand and release what it holds, in publish order."""
    item = load(project_id, endpoint_id)
    if item.get("state") not in ("open", "disabled"):
        raise Conflict("This endpoint holds nothing (its circuit breaker is closed).", field="endpoint_id",
                       state=item.get("state"))
    closed = circuit_breaker.close(item, by_hand=True)
    if closed is None:
        raise Conflict("The endpoint changed while being released; read it again.", field="endpoint_id")
    try:
        release_held(closed)
    except Exception:  # noqa: BLE001 - closed and marked RELEASE: the reconciler finishes the release
        log.warning("release of held deliveries failed; the reconciler finishes it", exc_info=True)
    item = load(project_id, endpoint_id)
    return circuit_breaker.view(item, held_count(item))


def release_held(item: dict) -> None:
    """What a closed breaker owes: each of its queues' held messages back, in publish order
    (holding.finish_release: a page now, the rest through release tasks), and the webhook sends
    and cron runs it held (release_kinds), then its marker off — or, when a release task carries
    on, the marker moved RELEASE_RECHECK later, so that a task lost for good (in the dead-letter
    queue) is followed by another release; the task's last step drops the marker."""
    for name in sorted(item.get("queues") or []):
        queue = holding.find(item["project_id"], name)
        if queue:
            holding.finish_release(queue)
    if release_kinds(item["project_id"], item["endpoint_id"], sorted(item.get("kinds") or [])):
        circuit_breaker.release_later(item, clock.now() + RELEASE_RECHECK)
    else:
        circuit_breaker.released(item)


def release_kinds(project_id: str, endpoint_id: str, kinds: list[str], cursor: str | None = None) -> bool:
    """Release, in publish order, the held deliveries of these kinds (webhook, cron) that this
    endpoint's breaker holds. Their held partition is shared with the project's other endpoints,
    so it is read a page at a time from `cursor`; past RELEASE_PAGES pages the rest continues
    through a release task (continue_release), and this returns True. A crash half-way leaves
    the endpoint's RELEASE marker (or the task) in place: the rest is released by the reconciler
    (or by SQS giving the task back)."""
    for i, kind in enumerate(kinds):
        for _ in range(RELEASE_PAGES):
            items, cursor = store.query_page("gsi2", keys.deliveries_in_state(project_id, kind, "held"),
                                             limit=holding.RELEASE_PAGE, cursor=cursor, newest_first=False)
            holding.release([m for m in items if m.get("held_by") == endpoint_id])
            if cursor is None:
                break
        if cursor is not None:
            dispatch.enqueue({"release": {"p": project_id, "e": endpoint_id, "k": kinds[i:], "c": cursor}})
            return True
    return False


def continue_release(task: dict) -> str:
    """A release task of an endpoint's held webhook sends or cron runs (release_kinds); its last
    step drops the endpoint's RELEASE marker."""
    kinds = task["k"] if isinstance(task["k"], list) else [task["k"]]
    if not release_kinds(str(task["p"]), str(task["e"]), [str(k) for k in kinds], task.get("c")):
        circuit_breaker.released_by_task(str(task["e"]))
    return "released"


def release_probe(item: dict, now: float) -> str:
    """An open breaker's probe is due: the oldest held message of its queues that accept (or,
    with none, of the webhook sends and cron runs it holds) goes, alone. A paused queue's
    messages are no candidates (holding.release_oldest): they could not reach the endpoint."""
    released = any(holding.release_oldest(item["project_id"], name) for name in sorted(item.get("queues") or []))
    for kind in sorted(item.get("kinds") or []):
        if released:
            break
        released = _release_oldest(item["project_id"], item["endpoint_id"], kind)
    circuit_breaker.probed(item, now)
    return "probed"


def _release_oldest(project_id: str, endpoint_id: str, kind: str) -> bool:
    """The oldest delivery of this kind the endpoint holds, released alone. The held partition
    is read to its end if need be (other endpoints' held deliveries come first): a probe that
    gave up would leave the endpoint open for good, with nothing to close or disable it."""
    cursor = None
    while True:
        items, cursor = store.query_page("gsi2", keys.deliveries_in_state(project_id, kind, "held"),
                                         limit=holding.RELEASE_PAGE, cursor=cursor, newest_first=False)
        for msg in items:
            if msg.get("held_by") == endpoint_id:
                if holding.release([msg]):
                    return True
        if cursor is None:
            return False
