"""The deliver function's work: for each SQS message, one attempt of one delivery.

At-least-once without double bookkeeping. A work message names (delivery, attempt number n).
Attempt n is *recorded* with a conditional write (attempt_count = n-1 -> n), and only then is
attempt n+1 queued (`enqueued` remembers that it was). Wherever a crash hits, the redelivered
message either finds attempt n recorded (and only finishes the follow-up) or makes attempt n
again: an attempt may be *sent* twice (same webhook-id, so receivers can dedupe) but is
*recorded* once, and a succeeded delivery is never sent again. There is no claim write before
sending: it would cost a third of the DynamoDB writes to prevent only the rare duplicate that
receivers must handle anyway. Receiver failures never raise: they are recorded and retried by a
new, delayed message, so one bad endpoint never makes the rest of its batch run again.

Besides work, the dispatch queue carries cron firings ({cron, at}, from Scheduler) and
release tasks ({release}) for queues with many held messages."""
import json
import logging
from concurrent.futures import ThreadPoolExecutor

from .. import config, observability, sender
from ..aws import dispatch, keys, resources, store
from ..core import clock, retry_policy, signing
from . import cron_runs, deliveries, delivery_index, projects, queues, replays

log = logging.getLogger(__name__)

USER_AGENT = "infrai-scheduling/1.0"
# SQS moves a message to the DLQ after resources.MAX_RECEIVE_COUNT receives; one receive before
# that, we record the delivery as failed ourselves, so it shows in the API and can be replayed.
POISON_AFTER = resources.MAX_RECEIVE_COUNT - 1
EXCERPT_KEPT = 512
_pool = None


def _executor():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="deliver")
    return _pool


def _all(fn, items):
    """fn over items concurrently; results in order, errors collected and raised once."""
    futures = [_executor().submit(fn, *i) for i in items]
    results, errors = [], []
    for f in futures:
        try:
            results.append(f.result())
        except Exception as e:  # noqa: BLE001 - collected, re-raised once after the batch
            log.exception("message failed")
            errors.append(e)
            results.append(None)
    return results, errors


def process_batch(bodies: list[str], receive_counts: list[int] | None = None,
                  message_ids: list[str | None] | None = None) -> dict:
    """Handle up to 10 messages concurrently. Raises only when a message hit an unexpected
    error (the whole batch then comes back; the others are no-ops the second time). A work
    message received POISON_AFTER times has crashed us that often: its delivery is marked
    failed (visible, replayable) instead of being tried once more."""
    counts = receive_counts or [1] * len(bodies)
    works, errors1 = _all(_to_work, [(b,) for b in bodies])
    for w, mid in zip(works, message_ids or [None] * len(bodies)):
        if isinstance(w, dict) and mid:
            w["mid"] = mid
    works = [_poisoned(w) if isinstance(w, dict) and c >= POISON_AFTER else w for w, c in zip(works, counts)]
    wanted = [keys.delivery(w["d"]) for w in works if isinstance(w, dict)]
    records = store.get_many(wanted) if wanted else {}
    context = _Context(records.values())
    outcomes, errors2 = _all(_process_one, [
        (w, records.get(keys.delivery(w["d"])) if isinstance(w, dict) else None, context) for w in works])
    errors = errors1 + errors2
    if errors:
        raise errors[0]
    return {"processed": len(outcomes), "outcomes": outcomes}


def _to_work(body: str):
    """A work message as is; a cron firing or a release task done here. Returns work or a word."""
    try:
        msg = json.loads(body)
    except ValueError:
        msg = None
    if isinstance(msg, dict) and cron_runs.is_firing(msg):
        return cron_runs.fire(str(msg["cron"]), str(msg["at"]))[1] or "fired"
    if isinstance(msg, dict) and isinstance(msg.get("release"), dict):
        return queues.continue_release(msg["release"])
    if isinstance(msg, dict) and isinstance(msg.get("replay"), dict):
        return replays.continue_replay(msg["replay"])
    try:
        return {"d": str(msg["d"]), "n": int(msg["n"]), "at": float(msg["at"]), **({"h": 1} if msg.get("h") else {})}
    except (KeyError, TypeError, ValueError):
        # Nobody can ever read it: straight to the DLQ rather than sinking the batch 5 times.
        dispatch.dead_letter({"reason": "unreadable dispatch message", "body": body[:4096]})
        return "unreadable"


def _poisoned(work: dict) -> str:
    record = store.get(*keys.delivery(work["d"]))
    if record is None or record["state"] in deliveries.TERMINAL or record["attempt_count"] >= work["n"]:
        return "done"
    failure = {"n": work["n"], "at": clock.now(), "status": None, "ms": 0, "excerpt": "",
               "error": f"poison: the deliver function failed on this message {POISON_AFTER - 1} times; "
                        "see its logs, then retry the delivery"}
    try:
        store.update(record["pk"], record["sk"], {
            "state": "failed", "attempt_count": work["n"], "attempts": record.get("attempts", []) + [failure],
            "updated_at": clock.now(), "next_attempt_at": None,
            "gsi2pk": keys.deliveries_in_state(record["project_id"], record["kind"], "failed"),
            **delivery_index.fields({**record, "state": "failed", "attempts": [failure]})},
            condition="attempt_count = :prev", values={":prev": work["n"] - 1})
    except store.ConditionFailed:
        return "done"
    dispatch.dead_letter({"reason": "poison", "delivery_id": work["d"], "project_id": record["project_id"],
                          "attempts": work["n"]})
    return "poison"


class _Context:
    """What the messages of one batch share: signing secrets and queue endpoints, read once."""

    def __init__(self, records):
        records = list(records)
        self.secrets = {p: projects.signing_secrets(p) for p in {r["project_id"] for r in records}}
        names = {(r["project_id"], r["source"]["queue"]) for r in records
                 if r["kind"].startswith("queue:") and r["state"] not in deliveries.TERMINAL}
        self.queues = {pq: queues.find(*pq) for pq in names}


def _process_one(work, record: dict | None, context: _Context) -> str:
    if not isinstance(work, dict):
        return work or "nothing"
    n, not_before = work["n"], work["at"]
    if record is None:
        return "unknown"
    if record["state"] in deliveries.TERMINAL or record["state"] == "held":
        return _follow_up(record)
    if record["attempt_count"] >= n:
        return _follow_up(record)          # attempt n is on record: only finish what follows it
    if record["attempt_count"] != n - 1:
        return "stale"
    now = clock.now()
    if now < not_before:
        # Longer than SQS's 900 s: hop again; the last hop waits exactly the rest. Marked as a
        # hop: if this batch fails after the enqueue, its redelivery hops again, and the chain forks.
        dispatch.enqueue({**deliveries.work(record["delivery_id"], n, not_before), "h": 1}, not_before - now)
        return "waiting"
    if work.get("h") and work.get("mid") and not _claim_hop(record, n, work["mid"]):
        return "duplicate hop"
    url, timeout = record.get("url"), record["timeout_seconds"]
    if record["kind"].startswith("queue:"):
        queue = context.queues.get((record["project_id"], record["source"]["queue"]))
        if not queues.accepts(queue):
            return _hold(record, n)
        url, timeout = queue["url"], queue["timeout_seconds"]
    result = _send(record, url, timeout, n, context.secrets[record["project_id"]])
    return _follow_up(_record_attempt(record, n, result, url))


def _claim_hop(record: dict, n: int, message_id: str) -> bool:
    """At the end of a hop chain, one SQS message may make attempt n: the first to claim it, or
    the same message again (redelivered after a crash). A forked chain's other copy is dropped,
    for one conditional write per hopped message, paid only by delays and retries over 900 s."""
    mine = f"{n}:{message_id}"
    try:
        store.update(record["pk"], record["sk"], {"hop_claim": mine},
                     condition="attempt_count = :prev AND (attribute_not_exists(hop_claim) OR hop_claim = :mine "
                               "OR NOT begins_with(hop_claim, :attempt))",
                     values={":prev": n - 1, ":mine": mine, ":attempt": f"{n}:"})
        return True
    except store.ConditionFailed:
        return False


def _hold(record: dict, n: int) -> str:
    """The queue lost its endpoint or was paused: keep the message, visibly, until released."""
    try:
        store.update(record["pk"], record["sk"], {
            "state": "held", "updated_at": clock.now(), "next_attempt_at": None,
            "gsi2pk": keys.deliveries_in_state(record["project_id"], record["kind"], "held"),
            **delivery_index.fields({**record, "state": "held"})},
            condition="attempt_count = :prev AND #st IN (:q, :r)", names={"#st": "state"},
            values={":prev": n - 1, ":q": "queued", ":r": "retrying"})
    except store.ConditionFailed:
        pass
    return "held"


def _send(record: dict, url: str, timeout: int, n: int, secrets: list[str]) -> sender.AttemptResult:
    body = record["payload"].encode()
    headers = dict(record.get("headers") or {})
    headers.update(record.get("meta_headers") or {})
    headers.update(signing.webhook_headers(secrets, record["delivery_id"], int(clock.now()), body))
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    headers["infrai-attempt"] = str(n)
    return sender.post(url, body, headers, timeout=timeout, allow_private=config.allow_private_targets())


def _outcome(record: dict, n: int, result) -> tuple[str, float | None]:
    if result.ok:
        return "succeeded", None
    if result.status == retry_policy.GONE or n >= record["attempt_budget"]:
        return "failed", None
    retry_number = n - (record["attempt_budget"] - record["retries"] - 1)
    delay = retry_policy.next_delay(retry_number, result.retry_after, config.retry_schedule())
    return "retrying", clock.now() + delay


def _record_attempt(record: dict, n: int, result, url: str | None = None) -> dict:
    state, next_at = _outcome(record, n, result)
    now = clock.now()
    attempt = {"n": n, "at": now - result.duration_ms / 1000, "status": result.status,
               "ms": result.duration_ms, "error": result.error, "excerpt": result.excerpt[:EXCERPT_KEPT]}
    kept = record.get("attempts", [])[-(deliveries.MAX_KEPT_ATTEMPTS - 1):] + [attempt]
    try:
        updated = store.update(
            record["pk"], record["sk"],
            {"state": state, "attempt_count": n, "attempts": kept, "updated_at": now,
             "next_attempt_at": next_at,
             "gsi2pk": keys.deliveries_in_state(record["project_id"], record["kind"], state),
             **delivery_index.fields({**record, "state": state, "attempts": kept}, url)},
            condition="attempt_count = :prev AND NOT #st IN (:c, :h)", names={"#st": "state"},
            values={":prev": n - 1, ":c": "cancelled", ":h": "held"})
        observability.attempt_recorded(updated, n, result, state, next_at, url)
        return updated
    except store.ConditionFailed:
        # A duplicate of this message recorded it first, or it was cancelled meanwhile: keep theirs.
        return store.get(record["pk"], record["sk"])


def _follow_up(record: dict) -> str:
    """What must happen after an attempt is on record; safe to run any number of times."""
    state, n = record["state"], record["attempt_count"]
    if state == "retrying" and record.get("enqueued", 0) < n + 1:
        at = record["next_attempt_at"]
        dispatch.enqueue(deliveries.work(record["delivery_id"], n + 1, at), at - clock.now())
        _mark(record, {"enqueued": n + 1}, "enqueued < :v OR attribute_not_exists(enqueued)", n + 1)
    elif state == "failed" and not record.get("dead_lettered"):
        dispatch.dead_letter({"reason": "retries exhausted", "delivery_id": record["delivery_id"],
                              "project_id": record["project_id"], "attempts": n})
        _mark(record, {"dead_lettered": True}, "attribute_not_exists(dead_lettered) OR :v = :v", True)
    return state


def _mark(record: dict, sets: dict, condition: str, value) -> None:
    try:
        store.update(record["pk"], record["sk"], sets, condition=condition, values={":v": value})
    except store.ConditionFailed:
        pass  # someone else did it: the duplicate message they may have sent is a no-op
