"""Deliveries: the one thing every feature ends in (a signed POST, retried, recorded).
Creating, reading, listing and replaying them; the attempts themselves are in `attempts.py`.

Convergence (core/due.py, docs/guarantees.md): work within SQS's reach is handed to SQS first
and the record written after, with no marker: the message is its lease, and one that finds no
record is dropped. A wait longer than SQS holds is a timer marker in the record's own write.
A 2xx therefore means stored and on its way, never "maybe stored"."""
import json
import logging
import secrets
import zlib
from contextlib import nullcontext

from ...aws import dispatch, keys, store
from ...core import breaker as breaker_rules
from ...core import clock, credential_headers, due, endpoint_auth, ids, traces
from ...core.errors import Conflict, NotFound, ServiceUnavailable
from . import delivery_index, payloads
from ..tenancy import quotas, retention

log = logging.getLogger(__name__)
USER_AGENT = "infrai-scheduling/1.0"   # on every attempt (attempts.py) and shown by content()

STATES = ("queued", "held", "waiting", "retrying", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "waiting", "retrying")   # an attempt is owed (by SQS work or a due marker)
TERMINAL = ("succeeded", "failed", "cancelled")
MAX_KEPT_ATTEMPTS = 50   # the newest attempts are kept in full; attempt_count says how many there were
MAX_ITEM_BYTES = 400_000      # DynamoDB's item size limit ("400 KB"), rounded down
ITEM_HEADROOM = 4 * 1024      # kept free below it: field names, the next attempt's bookkeeping


def work(delivery_id: str, attempt: int, not_before: float, project_id: str | None = None) -> dict:
    """The SQS message body: small, so the payload is read from the record, never from the queue.
    `p`, the project, is its fair-queue group (aws/dispatch.py): one project's flood never holds
    up another's deliveries."""
    return {"d": delivery_id, "n": attempt, "at": not_before, **({"p": project_id} if project_id else {})}


def _order(kind: str, delivery_id: str, now: float, again: bool = False) -> str:
    """The state index's sort key: the id, except for a queue's message, which sorts by when it
    joined the queue (core/ids.order_key): a published message's id already does; a cron-fed
    one and a replayed one get a key of their own."""
    if not kind.startswith("queue:") or (delivery_id.startswith("msg_") and not again):
        return delivery_id
    return ids.order_key(now, delivery_id)


def first_work(record: dict) -> dict:
    """The work of a new record's first attempt, handed before the record is written. It names
    the record's hand-off token: if the write loses to a record already there (a repeated submit
    of a derived id), its work is dropped on arrival instead of sending a second copy."""
    return {**work_of(record, 1, deliver_at(record)), "v": record["hand"]}


def deliver_at(record: dict) -> float:
    """When its first attempt is due: stored only when it was delayed (else its creation)."""
    return record.get("deliver_at") or record["created_at"]


def work_of(record: dict, attempt: int | None = None, at: float | None = None) -> dict:
    """The work of a record's next attempt (or of `attempt` at `at`)."""
    n = record["attempt_count"] + 1 if attempt is None else attempt
    return work(record["delivery_id"], n, record["next_attempt_at"] if at is None else at, record["project_id"])


def new_record(project_id: str, *, kind: str, url: str, payload: str, retries: int,
               timeout_seconds: int, delay_seconds: float = 0, headers=None, meta_headers=None,
               source=None, state="queued", id_prefix="dlv", delivery_id=None, flow_key=None, retry_schedule=None,
               callback_url=None, failure_callback_url=None, breaker=None, target_url=None, ordered=False,
               fingerprint=None, trace=None, auth=None) -> dict:
    """A delivery record, not yet stored. `retry_schedule` (core/retry_policy.check), the two
    callback URLs: left out of the record when None (the defaults); `breaker`: the
    circuit_breaker fields it chose (core/breaker.fields), none for the defaults. A queue
    message's `target_url` is its queue's endpoint now (its host is listed); `ordered`: its
    queue has flow limits, which read its place among the queued (state_keys). `fingerprint`:
    the request body's, when its id was derived from an idempotency key (keyed.find). `trace`:
    the core/traces.Trace it was published with (stored only when it came with one). `auth`: the
    endpoint's stored credentials (core/endpoint_auth.check), a webhook send's or a cron job's."""
    now = clock.now()
    delivery_id = delivery_id or ids.new_id(id_prefix, now)
    pk, sk = keys.delivery(delivery_id)
    if state == "queued":
        marker, send_now = due.waiting_mark(pk, now + delay_seconds, now)
    else:
        marker, send_now = due.mark(pk, now + due.HELD_RECHECK, due.HELD), False
    # what is empty, zero or derivable is left out: every byte is paid for each month it is kept
    record = {**marker,
        "pk": pk, "sk": sk, "delivery_id": delivery_id, "project_id": project_id, "kind": kind,
        **({"gsi2sk": _order(kind, delivery_id, now, again=bool(fingerprint))} if kind.startswith("queue:") else {}),
        "url": url, **payloads.stored(payload), **({"headers": headers} if headers else {}),
        **({"meta_headers": meta_headers} if meta_headers else {}), **({"source": source} if source else {}),
        "retries": retries, "timeout_seconds": timeout_seconds,
        "state": state, "created_at": now, "updated_at": now, **({"deliver_at": now + delay_seconds} if delay_seconds else {}),
        "next_attempt_at": now + delay_seconds if state == "queued" else None,
        "attempt_count": 0, "attempt_budget": retries + 1, "enqueued": 1 if send_now else 0,
        "hand": secrets.token_hex(4),   # names its first work: a losing duplicate submit's is dropped
        "attempts": [], **({"flow_key": flow_key} if flow_key else {}),
        "retry_schedule": retry_schedule, "callback_url": callback_url,
        "failure_callback_url": failure_callback_url, **{k: v for k, v in (breaker or {}).items() if v is not None},
        "keep": retention.stamp(project_id), **({"ordered": True} if ordered else {}),
        **({"fp": fingerprint} if fingerprint else {}), **({"s0": state} if state != "queued" else {}),
        **({"tp": traces.stored(trace)} if traces.stored(trace) else {}), **({"auth": auth} if auth else {}),
    }
    record.update({k: v for k, v in state_keys(record, state).items() if v is not None})
    return delivery_index.with_fields(record, target_url)


def state_keys(record: dict, state: str) -> dict:
    """The per-kind state index (gsi2: a queue's held, waiting and failed messages in queue
    order, its counts; an endpoint's held deliveries of every kind) holds only what is looked
    for there: a queue message in any state but `succeeded`, and `queued` only for work that
    waits on a timer or for a queue with flow limits (which checks the order of its queued);
    any other delivery only while held. Work handed to SQS at once is in no partition: its
    message is its place. None removes the entry. A queue message keeps its sort key (its place
    in the queue, set once) until it succeeds, never to be listed again (a replay is of a failed
    one); any other delivery's is its id, stored only while it is listed."""
    if not record["kind"].startswith("queue:"):
        listed = state == "held"
        return {"gsi2pk": keys.deliveries_in_state(record["project_id"], record["kind"], state) if listed else None,
                "gsi2sk": record["delivery_id"] if listed else None}
    listed = state not in ("queued", "succeeded") or record.get("ordered") or not record.get("enqueued")
    return {"gsi2pk": keys.deliveries_in_state(record["project_id"], record["kind"], state) if listed else None,
            **({"gsi2sk": None} if state == "succeeded" else {})}


def ending(record: dict, state: str, now: float) -> dict:
    """The expiry a write that moves a delivery to `state` sets (its project's retention for
    that outcome, stamped on it when made), or removes when it becomes active again."""
    if state not in TERMINAL:
        return {"ttl": None}
    kept_succeeded, kept_failed = record.get("keep") or (retention.DEFAULTS["succeeded"], retention.DEFAULTS["failed"])
    return {"ttl": int(now + 86400 * (kept_succeeded if state == "succeeded" else kept_failed))}


def expired(record: dict, now: float | None = None) -> bool:
    """Past its retention: DynamoDB deletes such an item within days; every read treats it as gone."""
    return bool(record.get("ttl")) and record["ttl"] <= (now or clock.now())


def submit(record: dict) -> dict:
    """Hand the first attempt's work to SQS (if SQS can hold the wait), then store the record:
    a 2xx means both are done, and the record needs no marker (core/due.HANDOFF_GRACE). If this
    dies between the two, nothing was accepted: the message finds no record and is dropped."""
    send_first_attempts([record])
    stored, item = payloads.split(record)
    if item and record.get("fp"):   # a derived id: its payload item may be a delivery's already
        try:
            store.put(item, condition="attribute_not_exists(pk)")
        except store.ConditionFailed:
            made = store.get(record["pk"], record["sk"])
            if made and not expired(made):
                return made   # a retried request: answered with the delivery its key made
            store.put(item)   # left by a request that died before its record, or past its retention
    elif item:
        store.put(item)
    try:   # a derived id's delivery past its retention is gone: a new one takes its place
        store.put(stored, condition="attribute_not_exists(pk) OR #ttl <= :now", names={"#ttl": "ttl"},
                  values={":now": int(clock.now())})
    except store.ConditionFailed:   # a retried request (delivery/keyed.py, idempotency/request_ids.py): made already
        return store.get(record["pk"], record["sk"])
    return stored


def send_first_attempts(records: list[dict], batch: str | None = None) -> None:
    """The SQS work of records about to be stored (those whose wait SQS can hold), sent before
    they are. A failure is the caller's: nothing is stored, the request is refused (503).
    `batch`: the id of the batch's "written" marker (keys.batch_written), which its works name."""
    now = clock.now()
    ready = [r for r in records if r.get("enqueued")]
    if not ready:
        return
    try:
        dispatch.enqueue_many([({**first_work(r), **({"b": batch} if batch else {})}, deliver_at(r) - now) for r in ready])
    except Exception as e:
        log.warning("enqueue failed for %d deliveries; nothing was stored", len(ready), exc_info=True)
        raise ServiceUnavailable("The delivery could not be queued; nothing was stored. Retry the request "
                                 "(with the same Idempotency-Key).") from e


def get(project_id: str, delivery_id: str, kind: str | None = None) -> dict:
    """A delivery of this project; another project's, or one of another kind, is simply not found."""
    record = None
    if isinstance(delivery_id, str) and len(delivery_id) < 64:
        record = store.get(*keys.delivery(delivery_id))
    if not record or record["project_id"] != project_id or (kind and not record["kind"].startswith(kind)) \
            or expired(record):
        raise NotFound(f"No delivery '{str(delivery_id)[:64]}' in this project; check the id "
                       "returned when it was sent.", field="delivery_id")
    return record


def replay(project_id: str, delivery_id: str, kind: str | None = None, counted: bool = False) -> dict:
    """A failed delivery gets a fresh set of attempts, appended to the old, same webhook-id.
    `counted`: the caller (a bulk replay, for its whole page) has already taken it from the plan."""
    record = get(project_id, delivery_id, kind)
    if record["state"] != "failed":
        raise Conflict(f"Only a failed delivery can be retried; this one is {record['state']}.",
                       field="delivery_id", state=record["state"])
    # a replay is a delivery: it counts against the day's limit (given back if the update loses a race)
    with quotas.deliveries_taken(project_id) if not counted else nullcontext():
        now = clock.now()
        n = record["attempt_count"] + 1
        if record.get("pref"):   # its payload is kept as long as the replayed delivery may be
            try:
                store.update(*keys.payload(payloads.holder(record)), {"ttl": payloads.expiry(record, now)},
                             condition="attribute_exists(pk)")
            except store.ConditionFailed:
                raise Conflict("This delivery's payload is past its retention; it cannot be retried.",
                               field="delivery_id")
        try:   # handed first, as in submit: its message waits for this write (HANDOFF_GRACE)
            dispatch.enqueue(work(delivery_id, n, now, project_id))
        except Exception as e:
            raise ServiceUnavailable("The retry could not be queued; nothing was changed. Retry the "
                                     "request.") from e
        try:
            queued = {**record, "state": "queued", "enqueued": n}
            record = store.update(record["pk"], record["sk"], {
                "state": "queued", "updated_at": now, "next_attempt_at": now, "repairs": None, "crashes": None,
                "attempt_budget": record["attempt_count"] + record["retries"] + 1, "enqueued": n,
                **due.unmark(), **state_keys(queued, "queued"), **ending(record, "queued", now),
                **({"gsi2sk": _order(record["kind"], delivery_id, now, again=True)}   # a replay goes behind
                   if record["kind"].startswith("queue:") else {}),
                **delivery_index.changed(record, delivery_index.fields(queued))},
                removes=("dead_lettered", "deferred"), condition="#st = :failed",
                names={"#st": "state"}, values={":failed": "failed"})
        except store.ConditionFailed:
            raise Conflict("The delivery changed while being retried; read it again.", field="delivery_id")
    return record


def waiting(record: dict, n: int, at: float, now: float) -> tuple[dict, bool]:
    """The fields that put a delivery in wait for attempt n at `at`, and whether its work goes
    to SQS now (else the reconciler's sweep sends it when SQS can hold the rest of the wait)."""
    marker, send_now = due.waiting_mark(record["pk"], at, now)
    return {**marker, "next_attempt_at": at, "enqueued": n if send_now else n - 1}, send_now


def bounded_attempts(record: dict, attempts: list[dict]) -> list[dict]:
    """The newest attempts that fit: at most MAX_KEPT_ATTEMPTS, and together small enough that
    the record stays under DynamoDB's 400 KB with the largest payload and headers allowed.
    The history gets half of what the rest of the record leaves, so the old history and its
    replacement fit together: moto checks a replacing update against both (DynamoDB only the
    result), and the same code must pass both. Sizes are measured as JSON (an overestimate of
    DynamoDB's own count)."""
    rest = {k: v for k, v in record.items() if k != "attempts"}
    left = MAX_ITEM_BYTES - ITEM_HEADROOM - len(json.dumps(rest, default=_sized, ensure_ascii=False).encode())
    budget = left // 2
    kept, used = [], 0
    for a in reversed(attempts[-MAX_KEPT_ATTEMPTS:]):
        size = len(json.dumps(a, default=_sized, ensure_ascii=False).encode()) + 8
        if used + size > budget:
            break
        kept.append(a)
        used += size
    return list(reversed(kept))


def _sized(value) -> str:
    """A stand-in as long as a value JSON cannot show (the compressed payload's bytes)."""
    raw = getattr(value, "value", value)
    return "b" * len(raw) if isinstance(raw, (bytes, bytearray)) else str(raw)


def fail(record: dict, n: int, error: str, now: float | None = None) -> dict | None:
    """Record attempt n as never made, the delivery failed (visible, replayable): for a message
    that crashed the deliver function again and again, or that stayed stranded through every
    repair. Marked so its dead-letter notice is sent even if the sender dies now."""
    now = now or clock.now()
    entry = {"n": n, "at": now, "status": None, "ms": 0, "excerpt": "", "error": error}
    try:
        return store.update(record["pk"], record["sk"], {
            "state": "failed", "attempt_count": n, "updated_at": now, "next_attempt_at": None,
            "attempts": bounded_attempts(record, record.get("attempts", []) + [entry]),
            **due.mark(record["pk"], now + due.CHECK_MARGIN, due.CHECK),
            **state_keys(record, "failed"), **ending(record, "failed", now),
            **delivery_index.changed(record, delivery_index.fields({**record, "state": "failed", "attempts": [entry]}))},
            condition="attempt_count = :prev AND #st IN (:q, :w, :r)", names={"#st": "state"},
            values={":prev": n - 1, ":q": "queued", ":w": "waiting", ":r": "retrying"})
    except store.ConditionFailed:
        return None


def wait(record: dict, n: int, until: float, extra: dict) -> dict | None:
    """Attempt n waits for its flow's limit (services/receivers/flow_control.py) until `until`: visibly
    (state `waiting`), not as an attempt, then its work goes to SQS (or, for a wait longer than
    SQS holds, a timer marker in the same write). Called by the deliver function only: the
    message it works on is the lease, so if the send fails or we die first, that message comes
    back and parks again. None if the delivery moved on meanwhile."""
    now = clock.now()
    fields, send_now = waiting(record, n, until, now)
    try:
        updated = store.update(record["pk"], record["sk"], {
            "state": "waiting", "updated_at": now, **fields, **extra, **state_keys(record, "waiting"),
            **delivery_index.changed(record, delivery_index.fields({**record, "state": "waiting"}))},
            condition="attempt_count = :prev AND #st IN (:q, :w, :r)", names={"#st": "state"},
            values={":prev": n - 1, ":q": "queued", ":w": "waiting", ":r": "retrying"})
    except store.ConditionFailed:
        return None
    if send_now:
        dispatch.enqueue(work_of(updated, n, until), until - now)
    return updated


def dead_letter(record: dict) -> None:
    """The failed delivery's notice on the DLQ, then the note that it was sent (which also
    clears its marker). Safe to repeat: a second notice is harmless."""
    last = (record.get("attempts") or [{}])[-1].get("error") or ""
    reason = "poison" if last.startswith(("poison", "stranded")) else "retries exhausted"
    dispatch.dead_letter({"reason": reason, "delivery_id": record["delivery_id"],
                          "project_id": record["project_id"], "attempts": record["attempt_count"]})
    try:
        store.update(record["pk"], record["sk"], {"dead_lettered": True, **due.unmark()},
                     condition="#st = :failed", names={"#st": "state"}, values={":failed": "failed"})
    except store.ConditionFailed:
        pass   # replayed meanwhile: its new marker stays


def view(record: dict) -> dict:
    """The public shape of a delivery record."""
    out = {
        "delivery_id": record["delivery_id"], "webhook_id": record["delivery_id"],
        "state": record["state"], "url": record.get("url"),
        "created_at": clock.rfc3339(record["created_at"]),
        "updated_at": clock.rfc3339(record["updated_at"]),
        "deliver_at": clock.rfc3339(deliver_at(record)),
        "next_attempt_at": clock.rfc3339(record.get("next_attempt_at"))
        if record["state"] in ACTIVE else None,
        "retries": record["retries"], "timeout_seconds": record["timeout_seconds"],
        "attempt_count": record["attempt_count"],
        "attempts": [attempt_view(a, record["delivery_id"]) for a in record.get("attempts", [])],
        "trace_id": traces.of(record).trace_id,
        "deferred": {"limit": record["deferred"], "until": clock.rfc3339(record["next_attempt_at"])}
        if record.get("deferred") and record["state"] in ("queued", "retrying") else None,
    }
    if record.get("flow_key"):
        out["flow_key"] = record["flow_key"]
    for field in OPTIONAL_VIEW_FIELDS:   # shown only when set: the defaults say nothing
        if record.get(field) is not None:
            out[field] = record[field]
    if breaker_rules.is_set(record):
        out["circuit_breaker"] = breaker_rules.settings(record)
    if record.get("auth"):   # what identifies its credentials, never a secret
        out["auth"] = endpoint_auth.view(record["auth"])
    if record.get("repair_errors"):   # the reconciler could not carry it on (repair/timers.set_aside)
        out["repair"] = {"error": record.get("repair_error"), "tries": record["repair_errors"],
                         "at": clock.rfc3339(record.get("repair_error_at")), "quarantined": bool(record.get("quarantined"))}
    return out


OPTIONAL_VIEW_FIELDS = ("retry_schedule", "callback_url", "failure_callback_url")


def meta_headers(record: dict) -> dict:
    """The infrai-* headers every attempt carries: those stored, and those its `source` already
    says, not stored twice (a fan-out record must stay under 1 KB): a queue message's queue
    (a topic's delivery never had it), a topic's topic, event type and subscription."""
    source = record.get("source") or {}
    queue = {"infrai-queue": source["queue"]} if (record["kind"].startswith("queue:") and source.get("queue")
                                                   and not source.get("topic")) else {}
    derived = {"infrai-topic": source["topic"], "infrai-event-type": source.get("event_type"),
               "infrai-subscription": source.get("subscription_id")} if source.get("topic") else {}
    return {**queue, **(record.get("meta_headers") or {}), **{k: v for k, v in derived.items() if v}}


def content(record: dict) -> dict:
    """What a single read adds to `view`: the payload as sent, and the headers every attempt
    carries (besides webhook-timestamp, webhook-signature, infrai-attempt and traceparent, made per
    attempt and not stored). A list holds none of it: 100 payloads of up to 256 KB would be a page of 25 MB."""
    try:
        payload = json.loads(payloads.text(record))
    except (ValueError, KeyError, LookupError, zlib.error):
        payload = None   # every payload was JSON when accepted; never a 500 for an old record
    headers = {**credential_headers.masked(record.get("headers"), record["project_id"]), **meta_headers(record),
               "content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": record["delivery_id"]}
    if traces.of(record).state:
        headers["tracestate"] = traces.of(record).state
    return {"payload": payload, "headers": headers}


def attempt_view(a: dict, delivery_id: str) -> dict:
    """An attempt as shown, with the span id it was sent with (core/traces.attempt_span)."""
    return {"attempt": a["n"], "at": clock.rfc3339(a["at"]), "status_code": a.get("status"),
            "duration_ms": a["ms"], "error": a.get("error"), "response_excerpt": a.get("excerpt", ""),
            "span_id": traces.attempt_span(delivery_id, a["n"])}
