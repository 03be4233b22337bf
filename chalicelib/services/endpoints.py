"""The endpoints API: which target endpoints have failed, what their circuit breakers hold,
and releasing one by hand (services/circuit_breaker.py has the state machine)."""
from ..aws import keys, store
from ..core import validation
from ..core.errors import Conflict, NotFound
from . import circuit_breaker, queues


def held_count(item: dict) -> int:
    """Messages held on the endpoint's queues (held by its breaker, or by their queue)."""
    return sum(store.count("gsi2", keys.deliveries_in_state(item["project_id"], queues.kind(q), "held"))
               for q in sorted(item.get("queues") or []))


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
    (queues.finish_release: a page now, the rest through release tasks), then its marker off."""
    for name in sorted(item.get("queues") or []):
        queue = queues.find(item["project_id"], name)
        if queue:
            queues.finish_release(queue)
    circuit_breaker.released(item)


def release_probe(item: dict, now: float) -> str:
    """An open breaker's probe is due: the oldest held message of its queues goes (alone)."""
    for name in sorted(item.get("queues") or []):
        if queues.release_oldest(item["project_id"], name):
            break
    circuit_breaker.probed(item, now)
    return "probed"
