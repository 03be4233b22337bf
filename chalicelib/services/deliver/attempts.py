"""The deliver function's work: for each SQS message, one attempt of one delivery.

At-least-once without double bookkeeping. A work message names (delivery, attempt number n).
Attempt n is *recorded* with a conditional write (attempt_count = n-1 -> n) that also sets the
due marker of what follows (core/due.py), and only then is attempt n+1 queued. Wherever a crash
hits, the redelivered message either finds attempt n recorded (and leaves the rest to the
marker, which the reconciler honours) or makes attempt n again: an attempt may be *sent*
twice (same webhook-id, so receivers can dedupe) but is
*recorded* once, and a succeeded delivery is never sent again. There is no claim write before
sending: it would cost a third of the DynamoDB writes to prevent only the rare duplicate that
receivers must handle anyway. Receiver failures never raise: they are recorded and retried by a
new, delayed message, so one bad endpoint never makes the rest of its batch run again.

Flow control (services/receivers/flow_control.py) is asked just before the send: a delivery over its
queue's or flow_key's limit is parked (state `waiting`), never attempted, never counted.

Besides work, the dispatch queue carries cron firings, release tasks and replay steps: the
router (deliver/router.py) hands each kind of message to its handler, and work here."""
import logging
from concurrent.futures import ThreadPoolExecutor

from ... import config, observability, sender
from ...aws import dispatch, keys, store
from ...core import clock, credential_headers, due, retry_policy, signing, traces
from ..delivery import deliveries, delivery_index, payloads
from ..notices import notices
from ..receivers import circuit_breaker, endpoint_credentials, endpoints, flow_control, holding
from ..tenancy import quotas, signature_keys
from . import destinations

log = logging.getLogger(__name__)

USER_AGENT = deliveries.USER_AGENT
# A message whose own processing raised this many times is poison: its delivery is failed,
# visibly and replayably, instead of being tried again. Only its own crashes count: with
# partial batch responses a batch-mate's failure never sends it round again.
POISON_CRASHES = 3
EXCERPT_BYTES = 512
RACE_WINDOW = 5           # s: work this fresh whose record is not there yet gets another look ...
RACE_WAITS = (0.3, 0.7)   # ... this much later (a batch of 100 is written after its 100 hand-offs), then _not_yet
_pool = None


def _executor():
    global _pool
    if _pool is None:
        # 10 per batch; an instance runs one batch at a time on Lambda, the local poller several
        _pool = ThreadPoolExecutor(max_workers=40, thread_name_prefix="deliver")
    return _pool


def concurrently(fn, items):
    """fn over items concurrently: (results, errors) in order, an error as None result."""
    futures = [_executor().submit(fn, *i) for i in items]
    results, errors = [], []
    for f in futures:
        try:
            results.append(f.result())
            errors.append(None)
        except Exception as e:  # noqa: BLE001 - reported per message below
            log.exception("message failed")
            results.append(None)
            errors.append(e)
    return results, errors


def attempt_all(works: list, errors: list, receipts: list | None = None) -> tuple[list, list]:
    """The work messages among `works` (the router's other words pass through), attempted
    concurrently with the batch's deliveries read at once. Returns (outcomes, errors) in order.
    `receipts`: the batch's SQS receipt handles, whose leases are fitted to its attempts."""
    wanted = [keys.delivery(w["d"]) for w in works if isinstance(w, dict)]
    try:
        _wait_for_batches(works)
        records = store.get_many(wanted) if wanted else {}
    except Exception as e:  # noqa: BLE001 - every work message of the batch comes back
        log.exception("could not read the batch's deliveries")
        records, errors = {}, [e if isinstance(w, dict) else err for w, err in zip(works, errors)]
        works = [None if isinstance(w, dict) else w for w in works]
    for wait in RACE_WAITS:   # a hand-off is usually milliseconds ahead of its write: look again
        early = [keys.delivery(w["d"]) for w in works if isinstance(w, dict) and _ahead_of_its_write(w, records)]
        if not early:
            break
        clock.sleep(wait)
        records.update(store.get_many(early))
    if receipts and records:
        _lease(receipts, records.values())
    context = _Context(records.values())
    outcomes, errors2 = concurrently(_guarded, [
        (w, records.get(keys.delivery(w["d"])) if isinstance(w, dict) else None, context) for w in works])
    return outcomes, [a or b for a, b in zip(errors, errors2)]


def _wait_for_batches(works: list) -> None:
    """The first attempts of a batch just published arrive while its records are still being
    written (a batch of 100 is written after its 100 hand-offs): they wait for the batch's one
    "written" marker (queues/messages._mark_written), one read per batch, rather than reading
    their records again and again. Past RACE_WAITS they read their records anyway (the marker
    is a hint: a publisher that died before it leaves the records' own checks to decide)."""
    now = clock.now()
    waiting = {keys.batch_written(w["b"]) for w in works
               if isinstance(w, dict) and w.get("b") and w["n"] == 1 and 0 <= now - w["at"] < RACE_WINDOW}
    for wait in (0, *RACE_WAITS):
        if not waiting:
            return
        clock.sleep(wait)
        waiting -= set(store.get_many(sorted(waiting)))


def _ahead_of_its_write(work: dict, records: dict) -> bool:
    """Whether this work was just handed and its write may not have landed yet (see _process_one)."""
    record = records.get(keys.delivery(work["d"]))
    waits = record is None or (record["attempt_count"] == work["n"] - 1 and record["state"] in ("held", "failed"))
    return waits and 0 <= clock.now() - work["at"] < RACE_WINDOW


def _lease(receipts: list, records) -> None:
    """The batch's messages stay invisible while its longest attempt may run, plus a margin, so
    that if this instance dies they come back then, not after the queue's long default
    visibility. Lambda returns the batch as a whole, so one lease for all. Best effort: a
    failure leaves the queue's default, which is only slower."""
    try:
        dispatch.lease([r for r in receipts if r], max(r["timeout_seconds"] for r in records) + due.LEASE_MARGIN)
    except Exception:  # noqa: BLE001
        log.warning("could not fit the batch's leases", exc_info=True)


def work_of(msg, body: str, message_id: str | None, receive_count: int | None = None):
    """A work message {d, n, at[, h]} as the attempt needs it, or "unreadable" (and the body
    on the DLQ: nobody can ever read it, so it goes there at once rather than failing 5 times)."""
    try:
        work = {"d": str(msg["d"]), "n": int(msg["n"]), "at": float(msg["at"]), **({"h": 1} if msg.get("h") else {})}
    except (KeyError, TypeError, ValueError):
        dispatch.dead_letter({"reason": "unreadable dispatch message", "body": body[:4096]})
        return "unreadable"
    for k in ("p", "t", "v", "b"):
        if k in msg:
            work[k] = msg[k]
    if message_id:
        work["mid"] = message_id
    if receive_count:
        work["rc"] = receive_count
    return work


def _guarded(work, record: dict | None, context) -> str:
    """One message; if it raises, the crash is counted on its own delivery before it comes back."""
    try:
        return _process_one(work, record, context)
    except Exception:
        if isinstance(work, dict) and record is not None:
            _count_crash(record)
        raise


def _count_crash(record: dict) -> None:
    try:
        store.update(record["pk"], record["sk"], {}, adds={"crashes": 1},
                     condition="attempt_count = :n", values={":n": record["attempt_count"]})
    except Exception:  # noqa: BLE001 - best effort: the reconciler's repair count is the backstop
        log.warning("could not count a crash of %s", record["delivery_id"], exc_info=True)


def _poisoned(record: dict, n: int) -> str:
    failed = deliveries.fail(record, n, f"poison: the deliver function failed on this message "
                                        f"{record.get('crashes', 0)} times; see its logs, then retry the delivery")
    if failed:
        notices.finish(failed)
        return "poison"
    return "done"


class _Context:
    """What the messages of one batch share: signing secrets and keys, queue endpoints and named flows, read once."""

    def __init__(self, records):
        records = list(records)
        self.secrets = {p: signature_keys.signer(p) for p in {r["project_id"] for r in records}}
        names = {(r["project_id"], r["source"]["queue"]) for r in records
                 if r["kind"].startswith("queue:") and r["state"] not in deliveries.TERMINAL}
        self.queues = {pq: holding.find(*pq) for pq in names}
        wanted = flow_control.named_flows_of(records)
        eps = sorted({circuit_breaker.endpoint_keys(p, q["url"]) for (p, _), q in self.queues.items() if q and q.get("url")}
                     | {circuit_breaker.endpoint_keys(r["project_id"], r["url"]) for r in records
                        if r["state"] not in deliveries.TERMINAL and circuit_breaker.target(r, None)})
        found = store.get_many(wanted + eps) if wanted or eps else {}
        self.flows = {k: v for k, v in found.items() if k in set(wanted)}
        self.endpoints = {k: v for k, v in found.items() if k in set(eps)}


def _process_one(work, record: dict | None, context: _Context) -> str:
    if not isinstance(work, dict):
        return work or "nothing"
    n, not_before = work["n"], work["at"]
    if record is None or (record["attempt_count"] == n - 1 and record["state"] in ("held", "failed")):
        # handed before its write (core/due.HANDOFF_GRACE): a submit, a release or a replay whose
        # write has not landed yet comes back later; past the grace its writer died unanswered
        return _not_yet(work) if clock.now() - not_before < due.HANDOFF_GRACE else "unknown"
    if work.get("v") and record.get("hand") and work["v"] != record["hand"] and n == 1:
        return "duplicate hand-off"   # its submit lost to a record already there (deliveries.first_work)
    if record["attempt_count"] >= n:
        # attempt n is on record: a duplicate, or this message back after its follow-up failed
        return _follow_up(record, fresh=False, again=record["attempt_count"] == n and work.get("rc", 1) > 1)
    if record["state"] in deliveries.TERMINAL or record["state"] == "held":
        return _follow_up(record, fresh=False)
    if record["attempt_count"] != n - 1:
        return "stale"
    if record.get("crashes", 0) >= POISON_CRASHES:
        return _poisoned(record, n)
    now = clock.now()
    if now < not_before:
        # Early (a clock ahead of ours, or a wait queued before the due index): wait out the
        # rest, at most SQS's 900 s a hop. Marked as a hop: only one copy may send (_claim_hop).
        dispatch.enqueue({**deliveries.work_of(record, n, not_before), "h": 1}, not_before - now)
        return "waiting"
    if work.get("h") and work.get("mid") and not _claim_hop(record, n, work["mid"]):
        return "duplicate hop"
    url, timeout, queue = record.get("url"), record["timeout_seconds"], None
    if record["kind"].startswith("queue:"):
        queue = context.queues.get((record["project_id"], record["source"]["queue"]))
        if not holding.accepts(queue):
            return holding.hold(record, n)
        url, timeout = queue.get("url") or queue["destination"]["arn"], queue["timeout_seconds"]
    fuse = circuit_breaker.of(record, queue, context.endpoints)
    if fuse and not circuit_breaker.allows(fuse):   # its endpoint's breaker is open: held, not failed
        circuit_breaker.note_source(fuse)   # first, so closing the breaker releases this source too
        return holding.hold(record, n, held_by=fuse.id)
    flow = flow_control.of(record, queue, context.flows)
    if flow is None:
        return _attempt(record, n, url, timeout, context, fuse)
    verdict = flow_control.admit(flow, record, timeout)
    if verdict is not None:   # over its flow's limit: it waits, not as an attempt
        return flow_control.park(record, n, verdict)
    outcome = None
    try:
        if flow.parallelism:
            # The batch read this record before its turn came; a twin may have made the attempt
            # since. Holding the lease, one fresh read makes sure no copy sends it twice.
            record = store.get(record["pk"], record["sk"])
            if record["attempt_count"] != n - 1 or record["state"] in deliveries.TERMINAL + ("held",):
                return "done"
        outcome = _attempt(record, n, url, timeout, context, fuse)
        return outcome
    finally:   # a FIFO queue's message still pending after its attempt stays first in line
        flow_control.release(flow, record, pending=outcome in ("retrying", "deferred"))


def _attempt(record: dict, n: int, url: str, timeout: int, context: "_Context", fuse) -> str:
    frees_at = quotas.take_attempt(record["project_id"])
    if frees_at is not None:
        return _defer(record, n, frees_at)
    destination = destinations.of(record, context.queues)   # an SQS queue or EventBridge bus instead of a URL
    result = (destinations.send(record, destination, n, context.secrets[record["project_id"]]) if destination
              else _send(record, url, timeout, n, context.secrets[record["project_id"]],
                         endpoint_credentials.of(record, context.queues)))
    updated, fresh = _record_attempt(record, n, result, url)
    if fuse and fresh:
        try:
            closed = circuit_breaker.observe(fuse, result.ok, result.error or (f"HTTP {result.status}" if result.status else None))
            if closed:   # the first success after it tripped: what it held goes, in publish order
                endpoints.release_held(closed)
        except Exception:  # noqa: BLE001 - the attempt is recorded; a closed breaker's release is marked
            log.warning("circuit breaker bookkeeping failed for %s", record["delivery_id"], exc_info=True)
    return _follow_up(updated, fresh)


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


def _defer(record: dict, n: int, at: float) -> str:
    """Over the plan's attempts per day: attempt n waits, visibly, until the limit frees. It is
    not made, not counted as an attempt and not failed; its marker brings it back (or, when the
    day ends within SQS's reach, a delayed message)."""
    now = clock.now()
    sets, send_now = deliveries.waiting(record, n, at, now)
    try:
        store.update(record["pk"], record["sk"], {**sets, "updated_at": now, "deferred": "attempts_per_day"},
                     condition="attempt_count = :prev AND #st IN (:q, :w, :r)", names={"#st": "state"},
                     values={":prev": n - 1, ":q": "queued", ":w": "waiting", ":r": "retrying"})
    except store.ConditionFailed:
        return "stale"   # recorded, cancelled or held meanwhile
    observability.event("attempt_deferred", delivery_id=record["delivery_id"], project_id=record["project_id"],
                        limit="attempts_per_day", until=clock.rfc3339(at))
    if send_now:
        dispatch.enqueue(deliveries.work_of(record, n, at), at - now)
    return "deferred"


def _send(record: dict, url: str, timeout: int, n: int, signer: signing.Signer, auth=None) -> sender.AttemptResult:
    body = payloads.text(record).encode()
    headers = credential_headers.clear(record.get("headers"), record["project_id"])
    headers.update(deliveries.meta_headers(record))
    headers.update(signing.signed_headers(signer, record["delivery_id"], int(clock.now()), body))
    headers["content-type"] = "application/json"
    headers["user-agent"] = USER_AGENT
    headers["infrai-attempt"] = str(n)
    headers.update(traces.attempt_headers(record, n))   # the delivery's trace, this attempt's span

    def post(extra: dict, client_cert) -> sender.AttemptResult:   # with the endpoint's credentials
        return sender.post(url, body, {**headers, **extra}, timeout=timeout, client_cert=client_cert,
                           allow_private=config.allow_private_targets())
    return endpoint_credentials.send(record["project_id"], auth, post, timeout)


def _outcome(record: dict, n: int, result) -> tuple[str, float | None]:
    if result.ok:
        return "succeeded", None
    if result.status == retry_policy.GONE or result.refused or n >= record["attempt_budget"]:
        return "failed", None
    retry_number = n - (record["attempt_budget"] - record["retries"] - 1)
    delay = retry_policy.next_delay(retry_number, result.retry_after, config.retry_schedule(),
                                    chosen=record.get("retry_schedule"))
    return "retrying", clock.now() + delay


def _excerpt(text: str) -> str:
    """At most EXCERPT_BYTES of UTF-8, cut on a character boundary."""
    return text.encode()[:EXCERPT_BYTES].decode(errors="ignore")


def _record_attempt(record: dict, n: int, result, url: str | None = None) -> tuple[dict, bool]:
    """Attempt n on record, with the marker of what it implies, in one conditional write.
    Returns the record and whether this call wrote it (a duplicate's twin may have)."""
    state, next_at = _outcome(record, n, result)
    now = clock.now()
    attempt = {"n": n, "at": now - result.duration_ms / 1000, "status": result.status,
               "ms": result.duration_ms, "error": result.error, "excerpt": _excerpt(result.excerpt or "")}
    # None removes: counters start again from nothing (read as 0), and the first-work token is
    # spent once attempt 1 is on record (deliveries.first_work)
    sets = {"state": state, "attempt_count": n, "updated_at": now, "next_attempt_at": next_at, "crashes": None,
            "repairs": None, "deferred": None, "flow_slot": None, "flow_waits": None,
            **deliveries.ending(record, state, now)}
    if state == "retrying":
        sets.update(deliveries.waiting(record, n + 1, next_at, now)[0])
    elif state == "failed" or notices.owes_callback_on_success(record):
        # its notices (dead-letter notice, callback, event) are still owed: notices.finish
        sets.update(due.mark(record["pk"], now + due.CHECK_MARGIN, due.CHECK))
    else:
        sets.update(due.unmark())
    if url and not record.get("url"):
        sets["target_url"] = url   # a queue message's endpoint, for its callback and events
    sets["attempts"] = deliveries.bounded_attempts({**record, **sets}, record.get("attempts", []) + [attempt])
    sets.update(deliveries.state_keys({**record, **sets}, state))
    # only what changes: a first-try success touches no index key (docs/costs.md)
    sets.update(delivery_index.changed(record, delivery_index.fields({**record, **sets}, url)))
    try:
        updated = store.update(
            record["pk"], record["sk"], sets,
            condition="attempt_count = :prev AND NOT #st IN (:c, :h)", names={"#st": "state"},
            values={":prev": n - 1, ":c": "cancelled", ":h": "held"})
        observability.attempt_recorded(updated, n, result, state, next_at, url)
        return updated, True
    except store.ConditionFailed:
        # A duplicate of this message recorded it first, or it was cancelled meanwhile: keep theirs.
        return store.get(record["pk"], record["sk"]), False


def _follow_up(record: dict, fresh: bool = True, again: bool = False) -> str:
    """What an attempt just recorded implies outside DynamoDB: the next attempt's work, or an
    ended delivery's notices (its callback, event, dead-letter notice: notices.py). The work is
    sent by the writer of the record (`fresh`), or `again` by the same message come back (it was
    received before: its first run may have died before sending) — never by a twin that lost
    the write, so no copy is doubled without a crash. Until the message is deleted it is the
    lease: nothing else owes this work."""
    state, n = record["state"], record["attempt_count"]
    if (fresh or again) and state == "retrying" and record.get("enqueued", 0) >= n + 1:
        at = record["next_attempt_at"]
        dispatch.enqueue(deliveries.work_of(record, n + 1, at), at - clock.now())
    elif state in ("succeeded", "failed") and notices.owed(record):
        notices.finish(record)
    return state


def _not_yet(work: dict) -> str:
    """The write this work waits for has not landed: a copy comes back after 10, 20, 40 ... s
    (a new message, so SQS's receive count, which sends poison to the DLQ, is not spent)."""
    tries = int(work.get("t", 0))
    copy = {k: v for k, v in work.items() if k not in ("mid", "rc", "h")}
    dispatch.enqueue({**copy, "t": tries + 1}, min(300, 10 * 2 ** tries))
    return "not yet"
