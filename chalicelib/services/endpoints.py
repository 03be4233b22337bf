"""The endpoints API: which target endpoints have failed, what their circuit breakers hold,
and releasing one by hand (services/circuit_breaker.py has the state machine)."""
from ..aws import dispatch, keys, store
from ..core import validation
from ..core.errors import Conflict, NotFound
from . import circuit_breaker, queues

RELEASE_PAGES = 5   # pages of a shared held partition read per release step (queues.RELEASE_PAGE each)


def held_count(item: dict) -> int:
    """Messages held on the endpoint's queues (held by its breaker, or by their queue), and the
    webhook sends and cron runs its breaker holds."""
    return (sum(store.count("gsi2", keys.deliveries_in_state(item["project_id"], queues.kind(q), "held"))
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
    release_held(closed)
    item = load(project_id, endpoint_id)
    return circuit_breaker.view(item, held_count(item))


def release_held(item: dict) -> None:
    """What a closed breaker owes: each of its queues' held messages back, in publish order
    (queues.finish_release: a page now, the rest through release tasks), and the webhook sends
    and cron runs it held (release_kind), then its marker off."""
    for name in sorted(item.get("queues") or []):
        queue = queues.find(item["project_id"], name)
        if queue:
            queues.finish_release(queue)
    for kind in sorted(item.get("kinds") or []):
        release_kind(item["project_id"], item["endpoint_id"], kind)
    circuit_breaker.released(item)


def release_kind(project_id: str, endpoint_id: str, kind: str, cursor: str | None = None) -> int:
    """Release, in publish order, the held deliveries of one kind (webhook, cron) that this
    endpoint's breaker holds. Their held partition is shared with the project's other endpoints,
    so it is read a page at a time from `cursor`; past RELEASE_PAGES pages the rest continues
    through a release task (continue_release). A crash half-way leaves the endpoint's RELEASE
    marker (or the task) in place: the rest is released by the reconciler (or SQS's redelivery)."""
    released = 0
    for _ in range(RELEASE_PAGES):
        items, cursor = store.query_page("gsi2", keys.deliveries_in_state(project_id, kind, "held"),
                                         limit=queues.RELEASE_PAGE, cursor=cursor, newest_first=False)
        back = [r for r in (queues.unhold(m) for m in items if m.get("held_by") == endpoint_id) if r]
        queues.send_released(back)
        released += len(back)
        if cursor is None:
            return released
    dispatch.enqueue({"release": {"p": project_id, "e": endpoint_id, "k": kind, "c": cursor}})
    return released


def continue_release(task: dict) -> str:
    """A release task of an endpoint's held webhook sends or cron runs (release_kind)."""
    release_kind(str(task["p"]), str(task["e"]), str(task["k"]), task.get("c"))
    return "released"


def release_probe(item: dict, now: float) -> str:
    """An open breaker's probe is due: the oldest held message of its queues (or, with none, of
    the webhook sends and cron runs it holds) goes, alone."""
    released = any(queues.release_oldest(item["project_id"], name) for name in sorted(item.get("queues") or []))
    for kind in sorted(item.get("kinds") or []):
        if released:
            break
        released = _release_oldest(item["project_id"], item["endpoint_id"], kind)
    circuit_breaker.probed(item, now)
    return "probed"


def _release_oldest(project_id: str, endpoint_id: str, kind: str) -> bool:
    cursor = None
    for _ in range(RELEASE_PAGES):
        items, cursor = store.query_page("gsi2", keys.deliveries_in_state(project_id, kind, "held"),
                                         limit=queues.RELEASE_PAGE, cursor=cursor, newest_first=False)
        for msg in items:
            if msg.get("held_by") == endpoint_id:
                back = queues.unhold(msg)
                if back:
                    queues.send_released([back])
                    return True
        if cursor is None:
            return False
    return False
