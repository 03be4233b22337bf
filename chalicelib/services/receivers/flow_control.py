"""Flow control: rate limits and parallelism, enforced across every deliver function instance
by state in DynamoDB (never in memory), the same on AWS and on the local stack.

One limiter item per flow (a queue's beside the queue, `keys.queue_flow`; a named flow's is the
flow item itself, `keys.flow`) holds:
- `next_at`, the reservation horizon: where the next unreserved send slot starts. A message over
  the rate takes the slot at the horizon and pushes it one spacing further (one write), so a
  backlog is spread over slots instead of every waiter retrying at once;
- `last_at`, when the latest send was let go. A send goes only through a conditional write
  `last_at <= now - spacing`, so two sends are never closer than the spacing, whatever became
  of the reservations (a waiter arriving late, a crash): never more than `count` in a period;
- `leases`, {delivery id: expiry} of the attempts in flight, at most `parallelism`. A lease
  expires after the attempt's timeout + LEASE_MARGIN, so a crashed instance cannot keep a
  slot forever; the first message to find the leases full clears the expired ones.

A message over its limit is not attempted: it waits, visibly (state `waiting`, counted on its
queue), its due marker moved past its wake time (deliveries.wait), so the reconciler never takes
a wait for a lost send. It wakes at its reserved slot (rate), or when a slot frees (parallelism:
when one of a queue's attempts ends, the queue's oldest waiter is woken), or after a backoff.
Waiting is not an attempt: the attempt count and the retry budget are untouched.

`parallelism: 1` makes a queue FIFO: only the queue's oldest pending message (held, queued,
retrying or waiting: publish order) may be attempted, so a message being retried holds back the
ones behind it, and a message published with a delay holds back the ones published after it."""
import logging

from ...aws import dispatch, keys, store
from ...core import clock, flow_limits
from ..delivery import deliveries

log = logging.getLogger(__name__)

LEASE_MARGIN = 30    # seconds a lease outlives its attempt's timeout (the attempt is recorded by then)
SLEEP_MAX = 1.0      # a slot this close is waited for in the deliver function; a later one parks
TRIES = 4            # admission rounds before a message parks (each round a lost race)
EPSILON = 1e-5       # float rounding of epoch seconds (~2e-7 each): "a spacing ago" within this is a spacing ago
PENDING = ("held", "queued", "retrying", "waiting")


class Flow:
    """The limits that apply to one delivery, and where their limiter state lives."""

    def __init__(self, pk: str, sk: str, limits: dict, queue: str | None = None):
        self.pk, self.sk, self.limits, self.queue = pk, sk, limits, queue
        self.rate = limits.get("rate_limit")
        self.parallelism = limits.get("parallelism")
        self.gap = flow_limits.spacing(self.rate) if self.rate else 0.0

    @property
    def fifo(self) -> bool:
        return self.queue is not None and self.parallelism == 1


def named_flows_of(records) -> list[tuple[str, str]]:
    """The named flows (flow_key) the batch's deliveries go through, to read once per batch."""
    return sorted({keys.flow(r["project_id"], r["flow_key"]) for r in records
                   if r.get("flow_key") and r["state"] not in deliveries.TERMINAL})


def of(record: dict, queue: dict | None, named: dict) -> Flow | None:
    """The flow a delivery goes through: its queue's limits, or its flow_key's; None if unlimited."""
    if record["kind"].startswith("queue:"):
        if queue and flow_limits.limited(queue):
            return Flow(*keys.queue_flow(record["project_id"], queue["name"]), queue, queue["name"])
        return None
    item = named.get(keys.flow(record["project_id"], record["flow_key"])) if record.get("flow_key") else None
    return Flow(item["pk"], item["sk"], item) if item and flow_limits.limited(item) else None


def admit(flow: Flow, record: dict, timeout: float) -> dict | None:
    """Whether this delivery's attempt may go now. None: yes (its lease is taken, if the flow
    has a parallelism; `release` gives it back). Otherwise the wait: {"until", "slot", "waits"}."""
    if flow.fifo and not _is_head(flow, record):   # asked first without a write: most who wait stop here
        return _wait_for_a_slot(flow, record)
    slot, leased = record.get("flow_slot"), False
    for _ in range(TRIES):
        now, committed = clock.now(), False
        if flow.rate:
            if slot is None:   # a reserved slot, even one missed, is tried first: the commit decides
                slot, committed = _reserve(flow, now)
            if slot - now > SLEEP_MAX:
                if leased:
                    release(flow, record, wake=False)
                return {"until": slot, "slot": slot, "waits": record.get("flow_waits", 0)}
            if not committed:
                clock.sleep(slot - now)
        if flow.parallelism and not leased:
            if not _lease(flow, record, timeout):
                return _wait_for_a_slot(flow, record)   # a reserved rate slot is lost: slower, never faster
            leased = True
            # FIFO: asked again holding the lease, since the previous holder writes `head` as it
            # gives the lease back: a retry recorded since the first question is seen now
            if flow.fifo and _behind_head(flow, record):
                release(flow, record)   # and the oldest waiter, likely the one first in line, is woken
                return _wait_for_a_slot(flow, record)
        if not flow.rate or committed or _commit(flow):
            return None
        slot = _earliest(flow)   # a send went a moment ago (a neighbour late): go one spacing after it
    if leased:
        release(flow, record, wake=False)
    return {"until": clock.now() + max(flow.gap, 1.0), "slot": None, "waits": record.get("flow_waits", 0)}


def _earliest(flow: Flow) -> float:
    """When the next send may go: one spacing after the latest (not reserved: the commit decides)."""
    item = store.get(flow.pk, flow.sk) or {}
    return item.get("last_at", clock.now()) + flow.gap


def _wait_for_a_slot(flow: Flow, record: dict) -> dict:
    waits = record.get("flow_waits", 0)
    backoff = flow_limits.wait_backoff(waits, woken=flow.queue is not None)
    return {"until": clock.now() + backoff, "slot": None, "waits": waits + 1}


def park(record: dict, n: int, verdict: dict) -> str:
    """The message waits (deliveries.wait). A twin message of one already parked for the same
    slot writes nothing: the parked one's work is on its way."""
    if record["state"] == "waiting" and (
            (verdict["slot"] is not None and record.get("flow_slot") == verdict["slot"])
            or (record.get("next_attempt_at") or 0) > clock.now() + SLEEP_MAX):
        return "waiting"   # woken early, or a twin: its own wake-up is still on its way
    deliveries.wait(record, n, verdict["until"], {"flow_slot": verdict["slot"], "flow_waits": verdict["waits"]})
    return "waiting"


def _reserve(flow: Flow, now: float) -> tuple[float, bool]:
    """A send slot: (start, whether the send is already let go). Free now: let go at once, one
    write. Busy: the slot at the horizon, reserved (one write), to be committed when it comes."""
    try:
        store.update_expression(flow.pk, flow.sk, "SET next_at = :horizon, last_at = :now",
                                condition="(attribute_not_exists(next_at) OR next_at <= :now) AND "
                                          "(attribute_not_exists(last_at) OR last_at <= :free)",
                                values={":now": now, ":horizon": now + flow.gap, ":free": now - flow.gap + EPSILON})
        return now, True
    except store.ConditionFailed:
        pass
    try:
        item = store.update_expression(flow.pk, flow.sk, "SET next_at = next_at + :gap", condition="next_at > :now",
                                       values={":gap": flow.gap, ":now": now})
        return item["next_at"] - flow.gap, False
    except store.ConditionFailed:   # the horizon is past, but a late waiter sent less than a gap ago
        item = store.get(flow.pk, flow.sk) or {}
        return max(now, item.get("last_at", now) + flow.gap), False


def _commit(flow: Flow) -> bool:
    """Let a reserved send go, if no send went less than a spacing ago (the rule that holds
    whatever happened to the reservations)."""
    now = clock.now()
    try:
        store.update_expression(flow.pk, flow.sk, "SET last_at = :now",
                                condition="attribute_not_exists(last_at) OR last_at <= :free",
                                values={":now": now, ":free": now - flow.gap + EPSILON})
        return True
    except store.ConditionFailed:
        return False


def _lease(flow: Flow, record: dict, timeout: float) -> bool:
    """One of the flow's `parallelism` slots for this delivery, or False if all are taken."""
    d = record["delivery_id"]
    for _ in range(2):
        now = clock.now()
        try:
            store.update_expression(
                flow.pk, flow.sk, "SET leases.#d = :expiry",
                condition="attribute_exists(leases) AND size(leases) < :p AND attribute_not_exists(leases.#d)",
                names={"#d": d}, values={":expiry": now + timeout + LEASE_MARGIN, ":p": flow.parallelism})
            return True
        except store.ConditionFailed:
            pass
        leases = (store.get(flow.pk, flow.sk) or {}).get("leases")
        if leases is None:   # a first lease: the map must exist before a path into it can be set
            store.update_expression(flow.pk, flow.sk, "SET leases = if_not_exists(leases, :empty)",
                                    values={":empty": {}})
            continue
        expired = {k: v for k, v in leases.items() if v <= now and k != d}
        if not expired or not _clear(flow, expired):
            return False
    return False


def _clear(flow: Flow, expired: dict) -> bool:
    """Drop leases whose holders died (each only if still the lease that expired)."""
    names = {f"#e{i}": k for i, k in enumerate(expired)}
    values = {f":e{i}": v for i, v in enumerate(expired.values())}
    try:
        store.update_expression(flow.pk, flow.sk, "REMOVE " + ", ".join(f"leases.{n}" for n in names),
                                condition=" AND ".join(f"leases.#e{i} = :e{i}" for i in range(len(expired))),
                                names=names, values=values)
        log.info("cleared expired flow leases", extra={"count": len(expired)})
        return True
    except store.ConditionFailed:
        return False


def release(flow: Flow, record: dict, wake: bool = True, pending: bool | None = None) -> None:
    """Give the delivery's lease back and wake the queue's oldest waiter. Best effort: a lease
    not given back expires, a waiter not woken wakes after its backoff. On a FIFO queue, after
    an attempt (`pending` not None), the same write says who is first in line (see _is_head):
    this delivery if the attempt left it pending (retrying, deferred), else nobody known."""
    if not flow.parallelism:
        return
    fifo_head = flow.fifo and pending is True
    expression = "SET head = :d REMOVE leases.#d" if fifo_head else (
        "REMOVE leases.#d, head" if flow.fifo and pending is False else "REMOVE leases.#d")
    try:
        store.update_expression(flow.pk, flow.sk, expression,
                                condition="attribute_exists(leases.#d)", names={"#d": record["delivery_id"]},
                                values={":d": record["delivery_id"]} if fifo_head else None)
    except store.ConditionFailed:
        pass
    except Exception:  # noqa: BLE001 - it expires
        log.warning("could not release a flow lease", exc_info=True)
    if wake and flow.queue:
        _wake(record["project_id"], record["kind"])


def _wake(project_id: str, kind: str) -> None:
    try:
        items, _ = store.query_page("gsi2", keys.deliveries_in_state(project_id, kind, "waiting"), limit=1,
                                    cursor=None, newest_first=False)
        now = clock.now()
        for item in items:
            if (item.get("flow_slot") or 0) - now <= SLEEP_MAX:   # a waiter for a later rate slot keeps it
                dispatch.enqueue(deliveries.work_of(item, item["attempt_count"] + 1, now))
    except Exception:  # noqa: BLE001 - the waiter's own wake-up is on its way
        log.warning("could not wake a waiting message", exc_info=True)


def _is_head(flow: Flow, record: dict) -> bool:
    """Whether no pending message of the queue was published before this one. The state index
    is eventually consistent: a message that has just gone from `queued` to `retrying` may show
    in neither partition for a moment, which is exactly when the next message asks. So the
    message whose attempt left it pending is also written on the flow item (`head`, by release)
    and read back consistently here: while it is pending, nothing behind it goes."""
    if _behind_head(flow, record):
        return False
    older = []
    for state in PENDING:
        items, _ = store.query_page("gsi2", keys.deliveries_in_state(record["project_id"], record["kind"], state),
                                    limit=1, cursor=None, newest_first=False)
        older += [i["delivery_id"] for i in items if _place(i) < _place(record)]
    return not older


def _behind_head(flow: Flow, record: dict) -> bool:
    """Whether the message the queue's last attempt left pending (`head`) is ahead of this one
    and still pending (consistent reads of the limiter item and of that message)."""
    head = (store.get(flow.pk, flow.sk) or {}).get("head")
    if not head or head == record["delivery_id"]:
        return False
    ahead = store.get(*keys.delivery(head))
    return bool(ahead and ahead["state"] in PENDING and _place(ahead) < _place(record))


def _place(record: dict) -> str:
    """A message's place in its queue: the state index's sort key (core/ids.order_key), or, on a
    record written before queues had one, its id."""
    return record.get("gsi2sk") or record["delivery_id"]


def state(flow_pk: str, flow_sk: str, now: float | None = None) -> dict:
    """What a flow's limiter shows: attempts in flight and the next free send slot."""
    item = store.get(flow_pk, flow_sk) or {}
    now = clock.now() if now is None else now
    horizon = item.get("next_at")
    return {"in_flight": sum(1 for v in (item.get("leases") or {}).values() if v > now),
            "next_send_at": clock.rfc3339(horizon) if horizon and horizon > now else None}
