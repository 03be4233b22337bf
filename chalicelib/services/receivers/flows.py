"""Named flows: a `flow_key` that webhook sends and cron jobs name to share one limit, so
several sources share one endpoint's budget. `PUT /v1/scheduling/flows/{key}` sets its
`rate_limit` and `parallelism`; the same item holds its limiter state (services/receivers/flow_control.py).
A send or a job may name only a flow that exists: a typo is a 400, never a silent no-limit."""
from ...aws import keys, store
from ...core import clock, flow_limits, validation
from ...core.errors import InvalidInput, NotFound, QuotaExceeded
from ..tenancy import counters
from . import flow_control

MAX_FLOWS = 100   # per project; a flow is meant per receiving endpoint, not per message
RESOURCE = "flows"   # its counter (tenancy/counters.py), changed in the flow's own transaction
CLAIM_TRIES = 5      # a claim that lost the race to seed the counter tries again


def _find(project_id: str, key: str) -> dict | None:
    return store.get(*keys.flow(project_id, key))


def put(project_id: str, key: str, body: dict) -> dict:
    flow_limits.check_key(key, "key")
    validation.reject_unknown(body, flow_limits.FIELDS)
    limits = flow_limits.check(body)
    now = clock.now()
    current = _find(project_id, key)
    if current is None or "gsi1pk" not in current:   # absent (or only limiter state left by a delete)
        pk, sk = keys.flow(project_id, key)
        item = {"pk": pk, "sk": sk, "project_id": project_id, "key": key, "gsi1pk": keys.flows_of(project_id),
                "gsi1sk": key, "rate_limit": None, "parallelism": None, **limits, "created_at": now,
                "updated_at": now}
        if _create({k: v for k, v in item.items() if v is not None}):
            return view(item)
        current = _find(project_id, key)   # made meanwhile by a concurrent PUT: change it instead
    return view(store.update(current["pk"], current["sk"], {**limits, "updated_at": now}))


def _create(item: dict) -> bool:
    """Store a new flow and take one of the project's MAX_FLOWS, in one transaction (the
    resource counters' pattern, tenancy/counters.py): counting the flows and then creating one
    let N concurrent PUTs of new flows all pass the count. False if the flow exists (made by a
    concurrent PUT); QuotaExceeded at the limit. A project whose flows predate the counter gets
    it seeded from a count of them; as no project starts with that counter, the first PUTs
    race to seed it, and one that lost the race (its claim failed on a counter that exists by
    the time it looks) tries again."""
    project_id = item["project_id"]
    for _ in range(CLAIM_TRIES):
        try:
            store.transact_write([counters.claim(project_id, RESOURCE, MAX_FLOWS),
                                  {"put": item, "condition": "attribute_not_exists(gsi1pk)"}])
            return True
        except store.ConditionFailed as e:
            if e.failed is None or 1 in e.failed:
                if e.failed is None and _find(project_id, item["key"]) is None:
                    raise
                return False   # it exists: a PUT of an existing flow is a change, at the limit too
            counter = store.get(*counters.counter_key(project_id, RESOURCE))
            if counter is None:
                _seed(project_id)
            elif counter["n"] >= MAX_FLOWS:
                raise QuotaExceeded(f"A project has at most {MAX_FLOWS} flows; delete one with "
                                    "DELETE /v1/scheduling/flows/{key}, or share one between endpoints.",
                                    field="key", retry_after=86400) from None
    raise store.ConditionFailed()


def _seed(project_id: str) -> None:
    pk, sk = counters.counter_key(project_id, RESOURCE)
    try:
        store.put({"pk": pk, "sk": sk, "n": store.count("gsi1", keys.flows_of(project_id))},
                  condition="attribute_not_exists(pk)")
    except store.ConditionFailed:
        pass   # a concurrent request seeded it


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
    """Sends and jobs still naming it go unlimited from then on (and a new one naming it is refused).
    The flow and its place in MAX_FLOWS go together, once (a concurrent delete gives nothing back)."""
    item = load(project_id, key)
    for _ in range(CLAIM_TRIES):
        try:
            store.transact_write([counters.give_back(project_id, RESOURCE),
                                  {"delete": (item["pk"], item["sk"]), "condition": "attribute_exists(gsi1pk)"}])
            break
        except store.ConditionFailed as e:
            if e.failed is None or 1 in e.failed:
                break   # deleted by a concurrent request, which gave the place back
            if store.get(*counters.counter_key(project_id, RESOURCE)) is not None:
                raise
            _seed(project_id)   # a project whose flows predate the counter
    return {"deleted": key}


def view(item: dict, live: bool = False) -> dict:
    out = {"key": item["key"], **flow_limits.view(item), "created_at": clock.rfc3339(item["created_at"]),
           "updated_at": clock.rfc3339(item["updated_at"])}
    if live:
        out.update(flow_control.state(item["pk"], item["sk"]))
    return out
