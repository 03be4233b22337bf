"""Crash-point enumeration (issue 11): nothing is lost, whatever dies when.

For every operation that writes, a clean run first counts its AWS write calls (a botocore hook
on every client the service uses). Then the operation runs once per write call with the process
*dying* just before that call (an exception no `except Exception` catches), and once per call
with that call *failing* (throttled, or a 5xx). After each, only what a deployed stage runs by
itself may act: the deliver function (its SQS messages, a crashed one coming back as Lambda would
give it back) and the reconciler (every minute), over simulated days. Then:

- every delivery made is delivered (the receiver, a real HTTP server on 127.0.0.1, saw its
  webhook-id), or visibly terminal (failed and dead-lettered, cancelled), or held on a queue
  that does not accept;
- every cron job that is listed has exactly its schedules, and fires; no schedule exists
  without a listed job (a deleted job never fires again);
- nothing is left owing: a reconciler run a month later finds nothing to do.

New write calls are covered without editing this file: the points are counted, not listed."""
import json
import time

import pytest
from botocore.exceptions import ClientError
from moto.sqs import models as sqs_models

from chalicelib import config
from chalicelib.aws import clients, dispatch, keys, store
from chalicelib.core import breaker, clock, due
from chalicelib.services.cron import cron, cron_catchup, cron_runs
from chalicelib.services.delivery import deliveries, delivery_list
from chalicelib.services.notices import events
from chalicelib.services.queues import messages, queues
from chalicelib.services.receivers import endpoints, holding
from chalicelib.services.repair import reconciler
from chalicelib.services.tenancy import projects, quotas
from chalicelib.services.idempotency import idempotency
from chalicelib.services.topics import publish, subscriptions, topics
from chalicelib.services.webhooks import webhooks
from tests.receiver import Receiver

from .conftest import come_back, drain, receive_work, run_round

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
          "SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch",
          "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
          "CreateSchedule", "UpdateSchedule", "DeleteSchedule"}
# simulated time after the operation: each step runs the reconciler, then the deliver function
STEPS = [0, 100, 1000, 7200, 90000, 900000]


class Crash(BaseException):
    """The process dies here: nothing in the service may catch it."""


class Points:
    """Counts write calls; dies (or fails) at the k-th."""

    def __init__(self):
        self.count, self.at, self.mode, self.hit = 0, None, None, None

    def __call__(self, model=None, **_):
        if model is None or model.name not in WRITES:
            return
        self.count += 1
        if self.count == self.at:
            self.hit = model.name
            if self.mode == "die":
                raise Crash(model.name)
            code = "ThrottlingException" if self.count % 2 else "InternalServerError"
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, model.name)

    def arm(self, at=None, mode=None):
        self.count, self.at, self.mode, self.hit = 0, at, mode, None


@pytest.fixture
def world(aws, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")       # retries due at once (simulated time is free)
    monkeypatch.delenv("INFRAI_OPS_LOG", raising=False)     # this test's own reads are not the service's
    monkeypatch.setenv("MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR", "false")   # each run starts empty
    offset = [0.0]
    clock.set_clock(lambda: time.time() + offset[0])
    # A wait in the service's code (a write not landed yet: look again shortly) is time passing
    clock.set_sleeper(lambda seconds: offset.__setitem__(0, offset[0] + seconds))
    # Time here jumps (offset): SQS delays run on that clock too, as they would on AWS over the
    # same days (moto's own run on the wall clock and would hide delayed work for real minutes).
    # A wait past SQS's 900 s is kept by our code: the deliver function's early-message path
    # sends it round again, one hop at a time, until its time has come.
    monkeypatch.setattr(sqs_models.Message, "delay", _delay_on_the_test_clock)
    monkeypatch.setattr(sqs_models.Message, "delayed", property(lambda m: clock.now() * 1000 < m.delayed_until))
    points = Points()
    for service in ("dynamodb", "sqs", "scheduler"):
        clients.client(service).meta.events.register("before-call", points)
    receiver = Receiver()
    yield {"points": points, "offset": offset, "receiver": receiver, "monkeypatch": monkeypatch}
    receiver.stop()
    for service in ("dynamodb", "sqs", "scheduler"):
        clients.client(service).meta.events.unregister("before-call", points)
    clock.set_clock(None)
    clock.set_sleeper(None)


def _delay_on_the_test_clock(message, delay_seconds):
    message.delayed_until = (clock.now() + int(delay_seconds)) * 1000


# -- the operations ------------------------------------------------------------------------------
# Each: setup(project_id, url) -> ctx (not counted), then op(project_id, ctx) (enumerated).

def _queue(pid, url, name="q", **extra):
    queues.put(pid, name, {"url": url, **extra})
    return name


def _failed_delivery(pid, url, w):
    w["receiver"].script("/down", [500])
    d = webhooks.send(pid, {"url": w["receiver"].url("/down"), "payload": {"f": 1}, "retries": 0}, None)
    drain()
    w["receiver"].script("/down", [200])
    assert deliveries.get(pid, d["delivery_id"])["state"] == "failed"
    return {"id": d["delivery_id"]}


def _held(pid, url, n=3):
    for i in range(n):
        messages.publish(pid, {"queue": "later", "payload": {"i": i}}, None)
    return {}


def _job(pid, url, **extra):
    return cron.create(pid, {"name": "j", "schedule": "*/5 * * * *", "url": url, "payload": {"c": 1},
                             **extra}, None)


def _one_message_in_flight(pid, url, w, status, **extra):
    w["receiver"].script("/dlv", [status])
    webhooks.send(pid, {"url": w["receiver"].url("/dlv"), "payload": {"d": 1}, "retries": 1 if status == 500 else 0,
                        **extra}, None)
    return {}


def _limited_queue(pid, url, w, **limits):
    """A queue with flow limits (issue 15) and one message that must wait: the one before it
    is delivered first (over a rate limit) or is still pending with its work in the DLQ (FIFO:
    SQS gave up on it; the reconciler fails it), so only the waiting message's work is on the
    dispatch queue and the operation's writes are the same on every run."""
    queues.put(pid, "lim", {"url": url, **limits})
    messages.publish(pid, {"queue": "lim", "payload": {"i": 0}}, None)
    if limits.get("rate_limit"):
        drain()
    else:
        _empty_dispatch_queue(to_dead_letters=True)   # the first stays queued until the DLQ sweep
    messages.publish(pid, {"queue": "lim", "payload": {"i": 1}}, None)
    return {}


def _tripping_queue(pid, url, w):
    """One message whose failure trips its endpoint's circuit breaker; the endpoint recovers."""
    w["receiver"].script("/cb", [500, 200])
    queues.put(pid, "cb", {"url": w["receiver"].url("/cb"),
                           "circuit_breaker": {"failures": 1, "min_seconds": 0, "probe_seconds": 60}})
    messages.publish(pid, {"queue": "cb", "payload": {"i": 0}}, None)
    return {}


def _tripping_webhook(pid, url, w):
    """A webhook send whose failure trips its endpoint's circuit breaker; the endpoint recovers."""
    w["receiver"].script("/wcb", [500, 200])
    webhooks.send(pid, {"url": w["receiver"].url("/wcb"), "payload": {"i": 0}, "retries": 3,
                        "circuit_breaker": {"failures": 1, "min_seconds": 0, "probe_seconds": 60}}, None)
    return {}


def _held_webhooks(pid, url, w):
    """Two webhook sends held by their endpoint's open breaker; the endpoint has recovered."""
    target = w["receiver"].url("/wh")
    w["receiver"].script("/wh", [500])
    for i in range(2):
        webhooks.send(pid, {"url": target, "payload": {"i": i}, "retries": 3,
                            "circuit_breaker": {"failures": 1, "min_seconds": 0, "probe_seconds": 3600}}, None)
        drain()
    w["receiver"].script("/wh", [200])
    assert {d["state"] for d in delivery_list.page(pid, {"kind": "webhook"}, limit=10, cursor=None)[0]} == {"held"}
    w["offset"][0] += due.HELD_RECHECK + 1   # their own re-checks are spent (they stay held): only the
    reconciler.run()                         # endpoint's release can bring them back now
    return {"endpoint": breaker.endpoint_id(pid, breaker.endpoint_of(target))}


def _missed_run(pid, url, w, resume: bool):
    """A job with a catch-up window that was paused over its one scheduled time (it recurs a year
    later, so nothing is owed a month on). Resumed (unless `resume`: then the resume is the operation)."""
    from datetime import datetime, timezone
    at = datetime.fromtimestamp(clock.now() + 600, tz=timezone.utc)
    job = cron.create(pid, {"name": "m", "schedule": f"{at.minute} {at.hour} {at.day} {at.month} *", "url": url,
                            "catch_up_window_seconds": 3600}, None)
    cron.set_enabled(pid, job["cron_id"], False)
    w["offset"][0] += 900                       # the scheduled time passed while it was paused
    if not resume:
        cron.set_enabled(pid, job["cron_id"], True)
    return job


def _over_attempts_limit(pid, url, w):
    """A message in flight whose project has used the day's attempts: its attempt is deferred."""
    w["monkeypatch"].setenv("INFRAI_PLAN_LIMITS", json.dumps({"unlimited": {"attempts_per_day": 1}}))
    assert quotas.take_attempt(pid) is None
    return _one_message_in_flight(pid, url, w, 200)


def _told(pid, url, w, status):
    """A delivery about to end with callbacks owed and the project's events URL set (issue 15)."""
    events.put_config(pid, {"url": w["receiver"].url("/events")})
    return _one_message_in_flight(pid, url, w, status, callback_url=w["receiver"].url("/cb"),
                                  failure_callback_url=w["receiver"].url("/fail-cb"))


class _Invocation:
    """A Lambda context whose invocation ends at once: Powertools' in-progress idempotency record
    expires with it, as a crashed invocation's does on a deployed stage, so the client's retry
    with the same key runs again instead of waiting out a lock."""

    @staticmethod
    def get_remaining_time_in_millis():
        return 1


def _fan_out_topic(pid, url, w, subscribers=3, chunk=2):
    """A topic whose `subscribers` subscriptions take 2+ chunks of a publish (`chunk` here, the
    batch path's 100 deployed), each to its own path of the receiver."""
    w["monkeypatch"].setattr(publish, "CHUNK", chunk)
    w["monkeypatch"].setattr(idempotency, "_lambda_context", _Invocation())
    cfg = idempotency._runner("topic.publish", config.idempotency_table_name())[1]
    w["monkeypatch"].setattr(cfg, "lambda_context", None)   # given back after the test, not kept by the cache
    topics.put(pid, "fan", {})
    paths = {subscriptions.create(pid, "fan", {"url": w["receiver"].url(f"/fan{i}")}, None)["subscription_id"]:
             f"/fan{i}" for i in range(subscribers)}
    return {"subs": paths}


def _keyed_publish_retried(pid, op, key):
    """The client's request with an Idempotency-Key, and its retry with the same key if the
    first died or failed (as an SDK retries a 5xx or a lost connection)."""
    try:
        return op(key)
    except (Crash, Exception):  # noqa: BLE001 - the first request dying is the point
        time.sleep(0.002)   # past the crashed invocation's in-progress lock (_Invocation)
        return op(key)


def _each_subscriber_once(pid, ctx, w, label):
    """A fan-out made one delivery per subscription, each delivered once (webhook-id unique)."""
    made = [i for i in _items(pid) if i["sk"] == "DLV" and (i.get("source") or {}).get("topic") == "fan"]
    assert sorted(d["source"]["subscription_id"] for d in made) == sorted(ctx["subs"]), label + ": deliveries made"
    arrived = [a for a in w["receiver"].arrivals if a.path.startswith("/fan")]
    assert sorted(a.path for a in arrived) == sorted(ctx["subs"].values()), label + ": deliveries arrived"
    assert len({a.headers["webhook-id"] for a in arrived}) == len(ctx["subs"]), label + ": webhook-ids"


def _cron_to_topic(pid, url, w):
    ctx = _fan_out_topic(pid, url, w)
    job = cron.create(pid, {"name": "t", "schedule": "*/5 * * * *", "topic": "fan", "event_type": "tick",
                            "payload": {"c": 1}}, None)
    return {**ctx, **job, "fire": True}


OPS = {
    "publish": (lambda p, u, w: {"q": _queue(p, u)},
                lambda p, c, w: messages.publish(p, {"queue": c["q"], "payload": {"a": 1}}, None)),
    "publish held": (lambda p, u, w: {},
                     lambda p, c, w: messages.publish(p, {"queue": "nowhere", "payload": {"a": 1}}, None)),
    "publish delayed an hour": (lambda p, u, w: {"q": _queue(p, u)},
                                lambda p, c, w: messages.publish(p, {"queue": c["q"], "payload": {},
                                                                     "delay_seconds": 3600}, None)),
    "publish-batch": (lambda p, u, w: {"q": _queue(p, u)},
                      lambda p, c, w: messages.publish_batch(p, {"messages": [
                          {"queue": c["q"], "payload": {"i": i}} for i in range(3)]}, None)),
    "webhook send": (lambda p, u, w: {},
                     lambda p, c, w: webhooks.send(p, {"url": w["url"], "payload": {"w": 1}}, None)),
    "replay": (lambda p, u, w: _failed_delivery(p, u, w),
               lambda p, c, w: webhooks.retry(p, c["id"], None)),
    "queue PUT releasing held": (lambda p, u, w: _held(p, u),
                                 lambda p, c, w: queues.put(p, "later", {"url": w["url"]})),
    "queue DELETE force": (lambda p, u, w: _held(p, u),
                           lambda p, c, w: queues.delete(p, "later", {"force": "true"})),
    "cron create": (lambda p, u, w: {}, lambda p, c, w: _job(p, w["url"])),
    "cron create day-of-month OR day-of-week": (
        lambda p, u, w: {},
        lambda p, c, w: cron.create(p, {"name": "j", "schedule": "0 9 1 * MON", "url": w["url"]}, None)),
    "cron update": (lambda p, u, w: _job(p, u),
                    lambda p, c, w: cron.update(p, c["cron_id"], {"schedule": "0 9 1 * MON"})),
    "cron pause": (lambda p, u, w: _job(p, u), lambda p, c, w: cron.set_enabled(p, c["cron_id"], False)),
    "cron resume": (lambda p, u, w: _job(p, u, enabled=False),
                    lambda p, c, w: cron.set_enabled(p, c["cron_id"], True)),
    "cron delete": (lambda p, u, w: _job(p, u), lambda p, c, w: cron.delete(p, c["cron_id"])),
    "cron resume with a catch-up window": (lambda p, u, w: _missed_run(p, u, w, resume=True),
                                           lambda p, c, w: cron.set_enabled(p, c["cron_id"], True)),
    "reconcile: catch-up of a missed run": (lambda p, u, w: _missed_run(p, u, w, resume=False),
                                            lambda p, c, w: reconciler.run(now=clock.now() + 60)),
    "cron trigger": (lambda p, u, w: _job(p, u), lambda p, c, w: cron_runs.trigger(p, c["cron_id"], None)),
    "cron backfill": (lambda p, u, w: _job(p, u), lambda p, c, w: cron_catchup.backfill(p, c["cron_id"], {
        "since": clock.rfc3339(clock.now() - 900), "until": clock.rfc3339(clock.now())})),
    "deliver: success": (lambda p, u, w: _one_message_in_flight(p, u, w, 200), lambda p, c, w: _deliver_once(w)),
    "deliver: retry": (lambda p, u, w: _one_message_in_flight(p, u, w, 500), lambda p, c, w: _deliver_once(w)),
    "deliver: retries exhausted": (lambda p, u, w: _one_message_in_flight(p, u, w, 410),
                                   lambda p, c, w: _deliver_once(w)),
    "deliver: attempt deferred by the attempts limit": (_over_attempts_limit, lambda p, c, w: _deliver_once(w)),
    "deliver: success with a callback": (lambda p, u, w: _told(p, u, w, 200), lambda p, c, w: _deliver_once(w)),
    "deliver: failed with a callback and an event": (lambda p, u, w: _told(p, u, w, 410),
                                                     lambda p, c, w: _deliver_once(w)),
    "deliver: cron firing": (lambda p, u, w: {**_job(p, u), "fire": True}, lambda p, c, w: _deliver_once(w)),
    "deliver: over its rate (one waits)": (
        lambda p, u, w: _limited_queue(p, u, w, rate_limit={"count": 1, "period_seconds": 3600}),
        lambda p, c, w: _deliver_once(w)),
    "deliver: FIFO (one waits)": (lambda p, u, w: _limited_queue(p, u, w, parallelism=1),
                                  lambda p, c, w: _deliver_once(w)),
    "deliver: circuit breaker trips": (_tripping_queue, lambda p, c, w: _deliver_once(w)),
    "deliver: circuit breaker trips on a webhook send": (_tripping_webhook, lambda p, c, w: _deliver_once(w)),
    "endpoint released by hand (held webhook sends)": (_held_webhooks,
                                                       lambda p, c, w: endpoints.release(p, c["endpoint"])),
    "reconcile": (lambda p, u, w: _stranded(p, u, w), lambda p, c, w: reconciler.run(now=clock.now() + 4000)),
    "reconcile: a tick hands timers out": (lambda p, u, w: _timers_due(p, u, w),
                                           lambda p, c, w: reconciler.run(fan_out=True)),
    "deliver: a timers task": (lambda p, u, w: _timers_due(p, u, w, handed_out=True), lambda p, c, w: _deliver_once(w)),
    "reconcile: the dead-letter sweep": (lambda p, u, w: _work_in_the_dlq(p, u, w), lambda p, c, w: reconciler.run()),
    "topic publish fanned out in chunks, retried with its key": (
        _fan_out_topic,
        lambda p, c, w: _keyed_publish_retried(p, lambda key: publish.publish(
            p, "fan", {"event_type": "e", "payload": {"f": 1}}, key), "fan-1")),
    "deliver: cron firing to a topic": (_cron_to_topic, lambda p, c, w: _deliver_once(w)),
}


def _timers_due(pid, url, w, handed_out=False):
    """A message delayed an hour (a timer), the clock moved past its marker; with `handed_out`,
    the tick has already put its shard's task on the dispatch queue. (One: with two, whether
    they share a shard, and so how many writes the tick makes, would change from run to run.)"""
    _queue(pid, url)
    messages.publish(pid, {"queue": "q", "payload": {"i": 0}, "delay_seconds": 3600}, None)
    w["offset"][0] += 3600 - due.SQS_LEAD + 1
    if handed_out:
        reconciler.run(fan_out=True)
    return {}


def _work_in_the_dlq(pid, url, w):
    """A message whose work SQS gave up on (moved to the dead-letter queue)."""
    _queue(pid, url)
    messages.publish(pid, {"queue": "q", "payload": {}}, None)
    _empty_dispatch_queue(to_dead_letters=True)
    return {}


def _deliver_once(w):
    """One run of the deliver function over what is on the dispatch queue now; if it dies, its
    messages come back (on Lambda after the visibility timeout; here at once)."""
    msgs = receive_work()
    assert msgs, "the scenario put work on the queue"
    try:
        run_round(msgs)
    except Crash:
        come_back(msgs)
        raise


def _stranded(pid, url, w):
    """What the reconciler exists for: a long wait coming due, a held message whose queue
    accepts (a publish that raced the PUT), a cron change that died half-way."""
    _queue(pid, url)
    messages.publish(pid, {"queue": "q", "payload": {}, "delay_seconds": 3600}, None)
    held = deliveries.submit(messages._record(pid, holding.find(pid, "q") | {"url": None}, {
        "queue": "q", "payload": "{}", "delay": 0}))
    assert held["state"] == "held"
    job = _job(pid, url)   # ... and then a change to it died after its record write:
    pk, sk = keys.cron_job(job["cron_id"])
    store.update(pk, sk, {"sync": "pending", "schedule": "0 9 1 * MON",
                          "aws_expressions": ["cron(0 9 1 * ? *)", "cron(0 9 ? * MON *)"],
                          **due.mark(pk, clock.now() + due.SYNC_GRACE, due.SYNC)})
    return {}


# -- running and checking ------------------------------------------------------------------------

def _converge(w):
    """Only what runs by itself on a deployed stage: the reconciler every minute and the deliver
    function, over two simulated weeks, until nothing is marked and no work is on its way (work
    handed to SQS carries no marker: its message is its lease)."""
    base = w["offset"][0]
    for step in STEPS:
        w["offset"][0] = base + step
        reconciler.run()
        drain()
        if not _anything_marked() and not receive_work(visibility=0) and not _delayed():
            return


def _delayed() -> int:
    """Work on its way later: messages on the dispatch queue that SQS delays."""
    attrs = clients.sqs().get_queue_attributes(QueueUrl=dispatch.dispatch_queue_url(),
                                               AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"])


def _anything_marked() -> bool:
    return any(store.keys_up_to(due.INDEX, due.partition(s), "9" * 15, 1) for s in range(due.SHARDS))


def _items(project_id):
    everything = []
    for page in clients.dynamodb().get_paginator("scan").paginate(TableName=config.table_name()):
        everything += [store.from_raw(i) for i in page["Items"]]
    return [i for i in everything if i.get("project_id") == project_id]


def _notices_made(d, items, where):
    """An ended delivery's callback and delivery.failed event exist, once each (issue 15)."""
    wanted = d.get("callback_url") if d["state"] == "succeeded" else (
        d.get("failure_callback_url") if d["state"] == "failed" else None)
    about = [i for i in items if i["sk"] == "DLV" and (i.get("source") or {}).get("delivery_id") == d["delivery_id"]]
    assert len(about) == (1 if wanted and d["kind"] not in ("callback", "event") else 0), where + ": callbacks"
    told = [i for i in items if i["sk"] == "DLV" and i["kind"] == "event"
            and json.loads(i["payload"])["data"].get("delivery_id") == d["delivery_id"]]
    owed = d["state"] == "failed" and d["kind"] != "event" and events.target(d["project_id"])
    assert len(told) == (1 if owed else 0), where + ": delivery.failed events"


def _schedules():
    sched, group = clients.scheduler(), config.schedule_group()
    return {s["Name"]: sched.get_schedule(Name=s["Name"], GroupName=group)
            for s in sched.list_schedules(GroupName=group)["Schedules"]}


def _check(project_id, w, label):
    items = _items(project_id)
    seen = {a.headers.get("webhook-id") for a in w["receiver"].arrivals}
    for d in (i for i in items if i["sk"] == "DLV"):
        where = f"{label}: {d['delivery_id']} is {d['state']}"
        if d["state"] == "succeeded":
            assert d["delivery_id"] in seen, where
        elif d["state"] == "held":   # only a queue's own holding may last: every endpoint here recovers
            assert d["kind"].startswith("queue:"), where + ": held by an endpoint that recovered"
            assert not holding.accepts(holding.find(project_id, d["source"]["queue"])), where + " on a queue that accepts"
        elif d["state"] == "failed":
            assert d.get("dead_lettered") and d["attempts"], where + " without its notice or attempts"
        else:
            assert d["state"] == "cancelled", where + ": stranded"
        _notices_made(d, items, where)
    jobs = {i["cron_id"]: i for i in items if i["sk"] == "CRON"}
    schedules = _schedules()
    for job in jobs.values():
        assert job["sync"] == "ok", f"{label}: {job['cron_id']} left {job['sync']}"
        names = [n for n in schedules if n == job["cron_id"] or n.startswith(job["cron_id"] + "-")]
        assert sorted(schedules[n]["ScheduleExpression"] for n in names) == sorted(job["aws_expressions"]), label
        assert {schedules[n]["State"] for n in names} == {"ENABLED" if job["enabled"] else "DISABLED"}, label
    for name in schedules:
        assert name.split("-")[0] in jobs, f"{label}: schedule {name} fires for a job that is gone"
    assert reconciler.run(now=clock.now() + 30 * 86400) == {}, f"{label}: still owing a month later"
    return jobs


def _fires(project_id, jobs, w):
    """Every listed, enabled job fires: its schedule's own input, as Scheduler sends it."""
    schedules = _schedules()
    for job in (j for j in jobs.values() if j["enabled"]):
        target = json.loads(schedules[job["cron_id"]]["Target"]["Input"])
        at = clock.rfc3339(clock.now() + 3600)
        dispatch.enqueue({**target, "at": at})
        drain()
        runs = cron_runs.runs(project_id, job["cron_id"], {})["items"]
        [run] = [r for r in runs if r["scheduled_at"] == at]
        if run["target"] == "topic":   # its deliveries, one per subscription, delivered
            made = [i for i in _items(project_id) if i["sk"] == "DLV"
                    and (i.get("source") or {}).get("publish_id") == run["delivery_id"]]
            assert len(made) == run["matched"] and {d["state"] for d in made} == {"succeeded"}, job["cron_id"]
        else:
            assert run["delivery_state"] == "succeeded", job["cron_id"]


def _empty_dispatch_queue(to_dead_letters=False, url=None):
    """Nothing left on the dispatch queue (or `url`; or, `to_dead_letters`, all of it moved to the
    DLQ, as SQS moves a message it gave up on)."""
    sqs, url = clients.sqs(), url or dispatch.dispatch_queue_url()
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages"):
        for m in msgs if to_dead_letters else []:
            sqs.send_message(QueueUrl=dispatch.dead_letter_queue_url(), MessageBody=m["Body"])
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(msgs)])


def _empty_table():
    """The last run's items gone (each run makes its own project): every run starts from the
    table the first one had, and reading it stays as cheap as on the first."""
    ddb = clients.dynamodb()
    for page in ddb.get_paginator("scan").paginate(TableName=config.table_name(), ProjectionExpression="pk, sk"):
        for start in range(0, len(page["Items"]), 25):
            ddb.batch_write_item(RequestItems={config.table_name(): [
                {"DeleteRequest": {"Key": k}} for k in page["Items"][start:start + 25]]})


def _fresh(w):
    _empty_table()
    for url in (dispatch.dispatch_queue_url(), dispatch.dead_letter_queue_url()):   # each run's queues its own:
        clients.sqs().purge_queue(QueueUrl=url)                                   # nothing visible, delayed or leased
    for name in _schedules():
        clients.scheduler().delete_schedule(Name=name, GroupName=config.schedule_group())
    w["receiver"].arrivals.clear()
    project = projects.create_project(plan="unlimited")
    w["receiver"].secret = projects.current_secret(project["project_id"])
    w["url"] = w["receiver"].url("/ok")
    return project["project_id"]


def _setup(name, pid, w):
    setup, _ = OPS[name]
    ctx = setup(pid, w["url"], w)
    if ctx.get("fire"):
        dispatch.enqueue({"cron": ctx["cron_id"], "at": clock.rfc3339(clock.now())})
    return ctx


@pytest.mark.parametrize("name", list(OPS))
def test_every_crash_point_converges(world, name):
    w, points = world, world["points"]
    _, op = OPS[name]
    pid = _fresh(w)
    ctx = _setup(name, pid, w)
    points.arm()
    op(pid, ctx, w)
    total = points.count
    assert total >= 1, f"{name} writes nothing?"
    points.arm(None)
    _converge(w)
    jobs = _check(pid, w, f"{name}, clean run")
    if ctx.get("subs"):
        _each_subscriber_once(pid, ctx, w, f"{name}, clean run")
    _fires(pid, jobs, w)
    for mode in ("die", "fail"):
        for k in range(1, total + 1):
            pid = _fresh(w)
            ctx = _setup(name, pid, w)
            points.arm(k, mode)
            try:
                op(pid, ctx, w)
            except (Crash, Exception):  # noqa: BLE001 - dying or refusing is the point
                pass
            label = f"{name}: {mode} at write {k}/{total} ({points.hit})"
            assert points.hit, label + " never reached: the operation is not repeatable"
            points.arm(None)
            _converge(w)
            jobs = _check(pid, w, label)
            if ctx.get("subs"):
                _each_subscriber_once(pid, ctx, w, label)
            _fires(pid, jobs, w)
