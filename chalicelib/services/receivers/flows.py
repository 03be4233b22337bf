"""Named flows: a `flow_key` that webhook sends and cron jobs name to share one limit, so
several sources share one endpoint's budget. `PUT /v1/scheduling/flows/{key}` sets its
`rate_limit` and `parallelism`; the same item holds its limiter state (services/receivers/flow_control.py).
A send or a job may name only a flow that exists: a typo is a 400, never a silent no-limit."""
from ...aws import keys, store
from ...core import clock, flow_limits, validation
from ...core.errors import InvalidInput, NotFound, QuotaExceeded
from . import flow_control

MAX_FLOWS = 100   # per project; a flow is meant per receiving endpoint, not per message


def _find(project_id: str, key: str) -> dict | None:
    return store.get(*keys.flow(project_id, key))


def put(project_id: str, key: str, body: dict) -> dict:
    flow_limits.check_key(key, "key")
    validation.reject_unknown(body, flow_limits.FIELDS)
    limits = flow_limits.check(body)
    now = clock.now()
    current = _find(project_id, key)
    if current is None or "gsi1pk" not in current:   # absent (or only limiter state left by a delete)
        if store.count("gsi1", keys.flows_of(project_id)) >= MAX_FLOWS:
            raise QuotaExceeded(f"A project has at most {MAX_FLOWS} flows; delete one with "
                                "DELETE /v1/scheduling/flows/{key}, or share one between endpoints.",
                                field="key", retry_after=86400)
        pk, sk = keys.flow(project_id, key)
        item = {"pk": pk, "sk": sk, "project_id": project_id, "key": key, "gsi1pk": keys.flows_of(project_id),
                "gsi1sk": key, "rate_limit": None, "parallelism": None, **limits, "created_at": now,
                "updated_at": now}
        try:
            store.put({k: v for k, v in item.items() if v is not None}, condition="attribute_not_exists(gsi1pk)")
            return view(item)
        except store.ConditionFailed:   # made meanwhile by a concurrent PUT: change it instead
            current = _find(project_id, key)
    return view(store.update(current["pk"], current["sk"], {**limits, "updated_at": now}))


def load(project_id: str, key: str) -> dict:
    flow_limits.check_key(key, "key")
    item = _find(project_id, key)
    if not item or item.get("project_id") != project_id or "gsi1pk" not in item:
        raise NotFound(f"No flow '{key}' in this project; create it with PUT /v1/scheduling/flows/{key}.",
                       field="key")
    return item


def require(project_id: str, body: dict) -> str | None:
    """The `flow_key` a send or a job names, checked to exist (None if it names none)."""
    key = body.get("flow_key")
    if key is None:
        return None
    flow_limits.check_key(key)
    item = _find(project_id, key)
    if not item or "gsi1pk" not in item:
        raise InvalidInput(f"No flow '{key}' in this project; create it first with "
                           f"PUT /v1/scheduling/flows/{key} {{\"rate_limit\": ..., \"parallelism\": ...}}.",
                           field="flow_key")
    return key


def get(project_id: str, key: str) -> dict:
    return view(load(project_id, key), live=True)


def list_(project_id: str, params: dict) -> dict:
    items, nxt = store.query_page("gsi1", keys.flows_of(project_id), limit=validation.query_limit(params),
                                  cursor=params.get("cursor"), newest_first=False)
    return {"items": [view(i) for i in items], "next_cursor": nxt}


def delete(project_id: str, key: str) -> dict:
    """Sends and jobs still naming it go unlimited from then on (and a new one naming it is refused)."""
    item = load(project_id, key)
    store.delete(item["pk"], item["sk"])
    return {"deleted": key}


def view(item: dict, live: bool = False) -> dict:
    out = {"key": item["key"], **flow_limits.view(item), "created_at": clock.rfc3339(item["created_at"]),
           "updated_at": clock.rfc3339(item["updated_at"])}
    if live:
        out.update(flow_control.state(item["pk"], item["sk"]))
    return out
