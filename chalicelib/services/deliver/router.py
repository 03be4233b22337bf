"""The deliver function's router: what each message on the dispatch queue is, and who handles it.

| message                          | sent by                                    | handled by                              |
|----------------------------------|--------------------------------------------|-----------------------------------------|
| `{d, n, at[, h]}` work           | every producer, retries, releases, repairs | deliver/attempts.py: one attempt        |
| `{cron, at}` a cron firing       | EventBridge Scheduler (or its stand-in)    | cron/cron_runs.fire                     |
| `{release: {p, q}}`              | a queue's release of many held messages    | receivers/holding.continue_release      |
| `{release: {p, e, k, c}}`        | an endpoint's release after its breaker    | receivers/endpoints.continue_release    |
| `{replay: {...}}`                | a bulk replay's next step                  | replays/replays.continue_replay         |
| `{timers: {s}}`                  | the reconcile function's tick, per shard   | repair/timers.continue_timers           |
| `{expunge: {p, s}}`              | a project's expunge, its next step         | expunge/expunge.continue_expunge        |

Anything else can never be read by anyone: attempts.work_of sends it to the DLQ at once.
Up to 10 messages are handled concurrently, and only the ones that raised come back to SQS
(`batchItemFailures`, Lambda's partial batch response), so a bad message never re-runs its
batch-mates."""
import json

from ... import observability
from ..cron import cron_runs
from ..replays import replays
from ..expunge import expunge
from ..receivers import endpoints, holding
from ..repair import timers
from . import attempts


def process_batch(bodies: list[str], receive_counts: list[int] | None = None,
                  message_ids: list[str | None] | None = None, receipts: list[str] | None = None) -> dict:
    """Each message to its handler; report the ones that failed by SQS message id. Without
    message ids (a direct call) a failure raises. `receive_counts` tell a message back after a
    failure from a twin; `receipts` let the batch's leases fit its attempts."""
    mids = list(message_ids or [None] * len(bodies))
    counts = list(receive_counts or [None] * len(bodies))
    routed, errors = attempts.concurrently(route, list(zip(bodies, mids, counts)))
    outcomes, errors = attempts.attempt_all(routed, errors, receipts)
    observability.flush()   # the batch's metrics as one EMF document: one per invocation
    failed = [i for i, e in enumerate(errors) if e is not None]
    if any(mids[i] is None for i in failed):
        raise next(errors[i] for i in failed if mids[i] is None)
    return {"batchItemFailures": [{"itemIdentifier": mids[i]} for i in failed],
            "processed": len(bodies) - len(failed), "outcomes": outcomes}


def route(body: str, message_id: str | None, receive_count: int | None = None):
    """Work is returned as work (attempted with its batch-mates); anything else is handled
    here and returns a word for the outcome."""
    try:
        msg = json.loads(body)
    except ValueError:
        msg = None
    if not isinstance(msg, dict):
        return attempts.work_of(msg, body, message_id)
    if "cron" in msg and "at" in msg and "d" not in msg:
        return cron_runs.fire(str(msg["cron"]), str(msg["at"]), message_id=message_id)[1] or "fired"
    if isinstance(msg.get("release"), dict):
        task = msg["release"]
        return endpoints.continue_release(task) if "e" in task else holding.continue_release(task)
    if isinstance(msg.get("replay"), dict):
        return replays.continue_replay(msg["replay"])
    if isinstance(msg.get("timers"), dict):
        return timers.continue_timers(msg["timers"])
    if isinstance(msg.get("expunge"), dict):
        return expunge.continue_expunge(msg["expunge"])
    return attempts.work_of(msg, body, message_id, receive_count)
