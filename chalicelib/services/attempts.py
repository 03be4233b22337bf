"""The deliver function's work: for each SQS message, one attempt of one delivery.

At-least-once without double bookkeeping. A message names (delivery, attempt number n).
Attempt n is *claimed* with a conditional write (attempt_count = n-1), *recorded* with another,
and only then is attempt n+1 queued (`enqueued` remembers it was). Whatever point a crash hits,
the redelivered message either finds attempt n recorded (and only finishes the follow-up) or
claims it again after the lease ran out: an attempt may be *sent* twice (same webhook-id, so
receivers can dedupe) but is *recorded* once, and a succeeded delivery is never sent again.
Receiver failures never raise: they are recorded and retried by a new, delayed message, so one
bad endpoint never makes the rest of its batch run again."""
import json
import logging
from concurrent.futures import ThreadPoolExecutor

from .. import config, sender
from ..aws import dispatch, keys, store
from ..core import clock, retry_policy, signing
from . import deliveries, projects

log = logging.getLogger(__name__)

LEASE_MARGIN = 60          # seconds past the attempt timeout before another worker may take over
USER_AGENT = "infrai-scheduling/1.0"
EXCERPT_KEPT = 512
_pool = None


def _executor():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="deliver")
    return _pool


def process_batch(bodies: list[str]) -> dict:
    """Handle up to 10 messages concurrently. Raises only when a message hit an unexpected
    error (the whole batch then comes back; the others are no-ops the second time)."""
    messages = [_parse(body) for body in bodies]
    wanted = [keys.delivery(m["d"]) for m in messages if m]
    records = store.get_many(wanted) if wanted else {}
    secrets = {pid: projects.signing_secrets(pid) for pid in {r["project_id"] for r in records.values()}}
    futures = [_executor().submit(_process_one, m, body, records.get(keys.delivery(m["d"])) if m else None,
                                  secrets) for m, body in zip(messages, bodies)]
    outcomes, errors = [], []
    for f in futures:
        try:
            outcomes.append(f.result())
        except Exception as e:  # noqa: BLE001 - collected, re-raised once after the batch
            log.exception("message failed")
            errors.append(e)
    if errors:
        raise errors[0]
    return {"processed": len(outcomes), "outcomes": outcomes}


def _parse(body: str) -> dict | None:
    try:
        msg = json.loads(body)
        return {"d": str(msg["d"]), "n": int(msg["n"]), "at": float(msg["at"])}
    except (ValueError, KeyError, TypeError):
        return None


def _process_one(msg: dict | None, body: str, record: dict | None, secrets: dict) -> str:
    if msg is None:
        # Nobody can ever read it: straight to the DLQ rather than sinking the batch 5 times.
        dispatch.dead_letter({"reason": "unreadable dispatch message", "body": body[:4096]})
        return "unreadable"
    delivery_id, n, not_before = msg["d"], msg["n"], msg["at"]
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
        dispatch.enqueue(deliveries.work(delivery_id, n, not_before), not_before - now)
        return "waiting"
    claimed = _claim(record, n, now)
    if claimed is None:
        return "busy"
    result = _send(claimed, n, secrets[claimed["project_id"]])
    return _follow_up(_record_attempt(claimed, n, result))


def _claim(record: dict, n: int, now: float) -> dict | None:
    try:
        return store.update(
            record["pk"], record["sk"],
            {"state": "delivering", "lease_until": now + record["timeout_seconds"] + LEASE_MARGIN,
             "updated_at": now,
             "gsi2pk": keys.deliveries_in_state(record["project_id"], record["kind"], "delivering")},
            condition="attempt_count = :prev AND (#st IN (:q, :r) OR (#st = :d AND lease_until < :now))",
            names={"#st": "state"},
            values={":prev": n - 1, ":q": "queued", ":r": "retrying", ":d": "delivering", ":now": now})
    except store.ConditionFailed:
        return None   # another worker holds this attempt; its own message comes back if it dies


def _send(record: dict, n: int, secrets: list[str]) -> sender.AttemptResult:
    body = record["payload"].encode()
    headers = dict(record.get("headers") or {})
    headers.update(record.get("meta_headers") or {})
    headers.update(signing.webhook_headers(secrets, record["delivery_id"],
                                           int(clock.now()), body))
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    headers["infrai-attempt"] = str(n)
    return sender.post(record["url"], body, headers, timeout=record["timeout_seconds"],
                       allow_private=config.allow_private_targets())


def _outcome(record: dict, n: int, result) -> tuple[str, float | None]:
    if result.ok:
        return "succeeded", None
    if result.status == retry_policy.GONE or n >= record["attempt_budget"]:
        return "failed", None
    retry_number = n - (record["attempt_budget"] - record["retries"] - 1)
    delay = retry_policy.next_delay(retry_number, result.retry_after, config.retry_schedule())
    return "retrying", clock.now() + delay


def _record_attempt(record: dict, n: int, result) -> dict:
    state, next_at = _outcome(record, n, result)
    now = clock.now()
    attempt = {"n": n, "at": now - result.duration_ms / 1000, "status": result.status,
               "ms": result.duration_ms, "error": result.error, "excerpt": result.excerpt[:EXCERPT_KEPT]}
    kept = record.get("attempts", [])[-(deliveries.MAX_KEPT_ATTEMPTS - 1):] + [attempt]
    try:
        return store.update(
            record["pk"], record["sk"],
            {"state": state, "attempt_count": n, "attempts": kept, "updated_at": now,
             "next_attempt_at": next_at,
             "gsi2pk": keys.deliveries_in_state(record["project_id"], record["kind"], state)},
            removes=("lease_until",), condition="attempt_count = :prev", values={":prev": n - 1})
    except store.ConditionFailed:
        # A worker that took over after our lease ran out recorded it first: keep theirs.
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
