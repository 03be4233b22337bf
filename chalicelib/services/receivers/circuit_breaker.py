"""Circuit breaker per endpoint (a target URL without its query), for every delivery to a
user's target — queue messages, webhook sends and cron runs (not callbacks or operational
events: they go to the project's own URLs and are never held) — with its state in one DynamoDB
item per endpoint (keys.endpoint); rules in core/breaker.py.

- closed: consecutive failures are counted (`fails`, since `first_fail_at`); a success resets
  them. The item is written only when an attempt fails (or succeeds after failures), so a
  healthy endpoint costs no write; it is read once per deliver batch.
- open: tripped. Deliveries to it are *held* (attempts._hold, `held_by` the endpoint), not
  failed, not dropped. The item carries a due marker (kind PROBE) at `probe_at`: the
  reconciler then releases the oldest held message as the probe, and an attempt that finds the
  probe due claims it with one conditional write (half-open: one probe per `probe_seconds`).
- disabled: failing for DISABLE_AFTER (5 days): no probes; held until released by hand.
- The first success (or a release by hand) closes it and marks it RELEASE in the same write;
  releasing what it holds (its queues' held messages, and its own among the project's held
  webhook sends and cron runs), in publish order, then removes the marker, so a crash half-way
  is finished by the reconciler.
- The item names its sources, so that closing it knows where its held messages are: `queues`
  (queue names) and `kinds` (KINDS: the held partitions it shares with other endpoints, where
  its own are those `held_by` it). A message held just as it closed keeps its own
  re-check marker (the reconciler releases it once the endpoint no longer holds)."""
import logging

from ...aws import keys, store
from ...core import breaker, clock, due
from ..notices import events

log = logging.getLogger(__name__)


KINDS = ("webhook", "cron")   # deliveries to a URL of their own (a queue message goes to its queue's)


class Breaker:
    """The endpoint one delivery goes to, its settings, its state as read for the batch, and
    where the delivery comes from (`attr`: "queues" with the queue's name, or "kinds" with the
    delivery's kind)."""

    def __init__(self, project_id: str, url: str, cfg: dict, item: dict | None, attr: str, source: str):
        self.project_id, self.endpoint, self.cfg = project_id, breaker.endpoint_of(url), cfg
        self.attr, self.source = attr, source
        self.id = breaker.endpoint_id(project_id, self.endpoint)
        self.pk, self.sk = keys.endpoint(self.id)
        self.item = item


def endpoint_keys(project_id: str, url: str) -> tuple[str, str]:
    return keys.endpoint(breaker.endpoint_id(project_id, breaker.endpoint_of(url)))


def target(record: dict, queue: dict | None) -> tuple[str, dict] | None:
    """The URL a delivery goes to and the breaker settings it goes through there; None when no
    breaker applies (turned off, a queue without an endpoint, a callback or an event)."""
    if record["kind"].startswith("queue:"):
        cfg = breaker.settings(queue) if queue and queue.get("url") else None
        return (queue["url"], cfg) if cfg else None
    cfg = breaker.settings(record) if record["kind"] in KINDS and record.get("url") else None
    return (record["url"], cfg) if cfg else None


def of(record: dict, queue: dict | None, items: dict) -> Breaker | None:
    """The breaker a delivery goes through (None: none applies)."""
    found = target(record, queue)
    if found is None:
        return None
    url, cfg = found
    attr, source = ("queues", queue["name"]) if record["kind"].startswith("queue:") else ("kinds", record["kind"])
    return Breaker(record["project_id"], url, cfg, items.get(endpoint_keys(record["project_id"], url)), attr, source)


def allows(b: Breaker) -> bool:
    """Whether an attempt may go to the endpoint now: closed, or open with its probe due (and
    this attempt the one that claimed it)."""
    item = b.item
    if not item or item.get("state", breaker.CLOSED) == breaker.CLOSED:
        return True
    now = clock.now()
    if item["state"] == breaker.DISABLED or now < item.get("probe_at", 0):
        # read for the batch: before holding on its word, make sure it has not closed since
        b.item = store.get(b.pk, b.sk)
        return b.item is None or b.item.get("state", breaker.CLOSED) == breaker.CLOSED
    try:
        store.update(b.pk, b.sk, {"probe_at": now + item.get("probe_seconds", b.cfg["probe_seconds"])},
                     condition="#st = :open AND probe_at = :old", names={"#st": "state"},
                     values={":open": breaker.OPEN, ":old": item["probe_at"]})
        return True
    except store.ConditionFailed:
        return False


def holds(endpoint_id: str) -> bool:
    """Whether the endpoint is holding its deliveries now (open or disabled)."""
    item = store.get(*keys.endpoint(endpoint_id))
    return bool(item and item.get("state") in (breaker.OPEN, breaker.DISABLED))


def note_source(b: Breaker) -> None:
    """The endpoint learns where a message it holds comes from (once per queue or kind)."""
    if b.source in (b.item or {}).get(b.attr, ()):
        return
    store.update_expression(b.pk, b.sk, "ADD #src :s", condition="attribute_exists(pk)", names={"#src": b.attr},
                            values={":s": {b.source}})
    b.item = {**b.item, b.attr: set(b.item.get(b.attr) or ()) | {b.source}}


def observe(b: Breaker, ok: bool, error: str | None = None) -> dict | None:
    """An attempt's outcome. Returns the endpoint if this success closed it: its held messages
    are owed a release (the caller releases them, then calls `released`)."""
    now = clock.now()
    item = b.item
    if ok:
        if not item or (item.get("fails", 0) == 0 and item.get("state") == breaker.CLOSED):
            return None
        return close(item, now)
    new = store.update_expression(
        b.pk, b.sk, "SET #st = if_not_exists(#st, :closed), first_fail_at = if_not_exists(first_fail_at, :now), "
                    "last_fail_at = :now, endpoint_id = :id, project_id = :p, #url = :url, gsi1pk = :g1, "
                    "gsi1sk = :id, last_error = :err ADD fails :one, #src :s",
        names={"#st": "state", "#url": "url", "#src": b.attr},
        values={":closed": breaker.CLOSED, ":now": now, ":id": b.id, ":p": b.project_id, ":url": b.endpoint,
                ":g1": keys.endpoints_of(b.project_id), ":err": (error or "")[:200], ":one": 1, ":s": {b.source}})
    if new["state"] == breaker.CLOSED and breaker.trips(new["fails"], new["first_fail_at"], now, b.cfg):
        _open(b, new, now)
    elif new["state"] == breaker.OPEN and now - new["first_fail_at"] >= breaker.DISABLE_AFTER:
        try:
            store.update(b.pk, b.sk, {"state": breaker.DISABLED, "disabled_at": now, **due.unmark()},
                         condition="#st = :open", names={"#st": "state"}, values={":open": breaker.OPEN})
            log.warning("endpoint disabled after failing for 5 days", extra={"endpoint_id": b.id})
        except store.ConditionFailed:
            pass
    return None


def _open(b: Breaker, item: dict, now: float) -> None:
    probe_at = now + b.cfg["probe_seconds"]
    owed = {"type": "endpoint.held", "at": now,
            "data": {"endpoint_id": b.id, "url": b.endpoint, "failures": item["fails"],
                     "failing_since": clock.rfc3339(item["first_fail_at"]), "last_error": item.get("last_error")}}
    try:
        new = store.update(b.pk, b.sk, {"state": breaker.OPEN, "opened_at": now, "probe_at": probe_at,
                                        "probe_seconds": b.cfg["probe_seconds"], "owed_event": owed,
                                        **due.mark(b.pk, probe_at, due.PROBE)},
                           condition="#st = :closed", names={"#st": "state"}, values={":closed": breaker.CLOSED})
    except store.ConditionFailed:
        return
    log.warning("endpoint held by its circuit breaker", extra={"endpoint_id": b.id, "fails": item["fails"]})
    tell(new)


def tell(item: dict) -> None:
    """The operational event a transition owes (`owed_event`, written in the transition's own
    write, while the item is marked: its probe or its release), emitted, then the debt cleared.
    Dying in between, the marker's timer tells it again; the event's id is derived from the
    transition's time, so it is posted once."""
    owed = item.get("owed_event")
    if not owed:
        return
    events.emit(item["project_id"], owed["type"], owed["data"], now=float(owed["at"]))
    try:
        store.update(item["pk"], item["sk"], {"owed_event": None}, condition="owed_event.#at = :at",
                     names={"#at": "at"}, values={":at": owed["at"]})
    except store.ConditionFailed:
        pass


def close(item: dict, now: float | None = None, by_hand: bool = False) -> dict | None:
    """Closed, failures reset; an endpoint that was holding is marked RELEASE (its held messages
    are owed) and returned, with its `endpoint.released` event owed in the same write (tell).
    None if it changed meanwhile or held nothing."""
    now = clock.now() if now is None else now
    was_holding = item.get("state") in (breaker.OPEN, breaker.DISABLED)
    tell(item)   # a held event still owed goes first
    owed = {"type": "endpoint.released", "at": now,
            "data": {"endpoint_id": item.get("endpoint_id"), "url": item.get("url"), "by_hand": by_hand}}
    sets = {"state": breaker.CLOSED, "fails": 0, "first_fail_at": None, "opened_at": None, "probe_at": None,
            "disabled_at": None, "owed_event": owed if was_holding else None,
            **(due.mark(item["pk"], now + due.SYNC_GRACE, due.RELEASE) if was_holding else due.unmark())}
    try:
        new = store.update(item["pk"], item["sk"], sets, condition="#st = :st", names={"#st": "state"},
                           values={":st": item.get("state", breaker.CLOSED)})
    except store.ConditionFailed:
        return None
    if not was_holding:
        return None
    tell(new)
    return new


def released(item: dict) -> None:
    """Its held messages are all released: drop the RELEASE marker (if no newer one was set)."""
    try:
        store.update(item["pk"], item["sk"], due.unmark(), condition="gsi3sk = :sk",
                     values={":sk": item.get("gsi3sk")})
    except store.ConditionFailed:
        pass


def release_later(item: dict, at: float) -> None:
    """A release task carries on: its RELEASE marker moves to `at` (if no newer one was set)."""
    try:
        store.update(item["pk"], item["sk"], due.mark(item["pk"], at, due.RELEASE), condition="gsi3sk = :sk",
                     values={":sk": item.get("gsi3sk")})
    except store.ConditionFailed:
        pass


def released_by_task(endpoint_id: str) -> None:
    """A release task's last step: the closed endpoint's RELEASE marker off."""
    pk, sk = keys.endpoint(endpoint_id)
    try:
        store.update(pk, sk, due.unmark(), condition="#st = :closed AND #due = :release",
                     names={"#st": "state", "#due": "due"}, values={":closed": breaker.CLOSED, ":release": due.RELEASE})
    except store.ConditionFailed:
        pass


def probed(item: dict, now: float) -> None:
    """The reconciler released a probe: look again one probe period later."""
    try:
        store.update(item["pk"], item["sk"], due.mark(item["pk"], now + item.get("probe_seconds", 300), due.PROBE),
                     condition="#st = :open AND gsi3sk = :sk", names={"#st": "state"},
                     values={":open": breaker.OPEN, ":sk": item["gsi3sk"]})
    except store.ConditionFailed:
        pass


def view(item: dict, held: int) -> dict:
    """`queues`: the queues sending to it; `sources`: the other kinds (webhook, cron) that have."""
    return {"endpoint_id": item["endpoint_id"], "url": item["url"], "state": item.get("state", breaker.CLOSED),
            "consecutive_failures": item.get("fails", 0),
            "failing_since": clock.rfc3339(item.get("first_fail_at")),
            "last_failure_at": clock.rfc3339(item.get("last_fail_at")),
            "last_error": item.get("last_error") or None,
            "held_since": clock.rfc3339(item.get("opened_at")),
            "next_probe_at": clock.rfc3339(item.get("probe_at")) if item.get("state") == breaker.OPEN else None,
            "queues": sorted(item.get("queues") or []), "sources": sorted(item.get("kinds") or []),
            "counts": {"held": held}}
