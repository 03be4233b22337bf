"""Resource counters: how many cron jobs, queues, topics and active API keys a project has, each
changed in the same DynamoDB transaction as the record it counts, under a condition, so N concurrent
creates against a limit of L leave exactly L (count-then-create lets them all through).
A project made before the counters existed gets each seeded from a count on its first write."""
from ...aws import store
from ...core.errors import Conflict, QuotaExceeded, ServiceUnavailable

# resource counter (also the plan limit's name) -> (what it is, how to make room)
RESOURCES = {
    "cron_jobs": ("cron jobs (active or paused: each is a schedule)", "delete one first"),
    "queues": ("queues", "delete one first"),
    "topics": ("topics", "delete one first, after deleting its subscriptions"),
    "api_keys": ("active API keys", "revoke one first"),
}
WRITE_TRIES = 4   # a write that lost only to a concurrent seeding or give-back is made again



def counter_key(project_id: str, resource: str) -> tuple[str, str]:
    return f"USAGE#{project_id}", f"COUNT#{resource}"


def initial_counters(project_id: str, api_keys: int = 1) -> list[dict]:
    """A new project's counters, written with it (so it never needs seeding)."""
    return [{"pk": counter_key(project_id, r)[0], "sk": counter_key(project_id, r)[1],
             "n": api_keys if r == "api_keys" else 0} for r in RESOURCES]


def claim(project_id: str, resource: str, cap: int | None) -> dict:
    """The transaction op that takes one `resource` within `cap` (None: only counts it)."""
    op = {"update": counter_key(project_id, resource), "expression": "SET n = n + :one",
          "condition": "attribute_exists(n)", "values": {":one": 1}}
    if cap is not None:
        op["condition"] += " AND n < :cap"
        op["values"][":cap"] = cap
    return op


def give_back(project_id: str, resource: str, keep: int = 0) -> dict:
    """The transaction op that returns one `resource`; refused if fewer than `keep` would remain."""
    return {"update": counter_key(project_id, resource), "expression": "SET n = n - :one",
            "condition": "attribute_exists(n) AND n > :keep", "values": {":one": 1, ":keep": keep}}


def write(project_id: str, resource: str, counter_op: dict, ops: list[dict], count_now) -> None:
    """Run `ops` and the counter op as one transaction. Raises QuotaExceeded (the limit is reached),
    Conflict (a give-back below `keep`), store.ConditionFailed (one of `ops` failed its own
    condition: nothing was written), or ServiceUnavailable (it lost to concurrent changes of the
    counter every time). `count_now()` counts the records, to seed a missing counter."""
    seeded = False
    for _ in range(WRITE_TRIES):
        try:
            store.transact_write([counter_op, *ops])
            return
        except store.ConditionFailed as e:
            if e.failed is not None and (0 not in e.failed or len(e.failed) > 1):
                raise   # one of `ops` failed its own condition (e.g. the record exists: a retry)
            counter = store.get(*counter_key(project_id, resource))
            if counter is None and not seeded:
                _seed(project_id, resource, count_now())
                seeded = True
                continue
            if counter is None:
                raise
            _explain(project_id, resource, counter_op, counter["n"])
            # the counter was missing (a concurrent request was seeding it) or at its limit when
            # the transaction ran, and is neither now: the same write again
    raise ServiceUnavailable(f"The project's {resource} changed under this request again and again; "
                             "nothing was written: retry it.")


def _seed(project_id: str, resource: str, count: int) -> None:
    pk, sk = counter_key(project_id, resource)
    try:
        store.put({"pk": pk, "sk": sk, "n": count}, condition="attribute_not_exists(pk)")
    except store.ConditionFailed:
        pass   # a concurrent request seeded it


def _explain(project_id: str, resource: str, counter_op: dict, n: int) -> None:
    """Raise the domain error the counter's condition stands for, if it is what failed."""
    values = counter_op["values"]
    what, fix = RESOURCES[resource]
    if ":cap" in values and n >= values[":cap"]:
        cap = values[":cap"]
        raise QuotaExceeded(f"Your plan allows {cap} {what}; {fix}.", field=None, limit=resource,
                            limit_value=cap, resets_at=None)
    if ":keep" in values and n <= values[":keep"]:
        raise Conflict(f"This would leave fewer than {values[':keep']} {what}.")
