"""Flow control (issue 15): rate limits and parallelism per queue and per named flow, enforced
by shared state in DynamoDB (moto here), with messages over the limit *waiting*, never
dropped, failed or counted as attempts."""
import heapq
import json
import threading
import time

import pytest

from chalicelib.aws import keys, store
from chalicelib.core import clock
from chalicelib.services.deliver import router
from chalicelib.services.delivery import deliveries
from chalicelib.services.queues import messages, queues
from chalicelib.services.receivers import flow_control
from chalicelib.services.repair import reconciler

from .conftest import T0, drain

Q = "/v1/scheduling/queue"
F = "/v1/scheduling/flows"


def _flow(rate=None, parallelism=None, queue="q"):
    limits = {"rate_limit": rate, "parallelism": parallelism}
    return flow_control.Flow(*keys.queue_flow("proj_t", queue), limits, queue)


def _rec(i, **extra):
    return {"delivery_id": f"msg_{i:04d}", "project_id": "proj_t", "kind": "queue:q", "state": "queued", **extra}


def _windows_over(times, count, period):
    """Pairs of sends more than `count` apart in order but less than `period` apart in time."""
    times = sorted(times)
    return [(a, b) for a, b in zip(times, times[count:]) if b - a < period]


# -- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({"rate_limit": {"count": 0, "period_seconds": 1}}, "rate_limit.count"),
    ({"rate_limit": {"count": 100_001, "period_seconds": 1}}, "rate_limit.count"),
    ({"rate_limit": {"count": 10, "period_seconds": 0}}, "rate_limit.period_seconds"),
    ({"rate_limit": {"count": 10, "period_seconds": 7 * 86400 + 1}}, "rate_limit.period_seconds"),
    ({"rate_limit": {"count": 10, "period_seconds": 1.5}}, "rate_limit.period_seconds"),
    ({"rate_limit": {"count": 10}}, "rate_limit"),
    ({"rate_limit": {"count": 10, "period_seconds": 1, "burst": 2}}, "rate_limit"),
    ({"rate_limit": 10}, "rate_limit"),
    ({"parallelism": 0}, "parallelism"),
    ({"parallelism": 101}, "parallelism"),
    ({"parallelism": True}, "parallelism"),
    ({"parallelism": "1"}, "parallelism"),
])
def test_limits_out_of_bounds_are_refused_and_change_nothing(api, body, field):
    api.call("PUT", f"{Q}/lim", {"url": "https://hooks.example.com/x"})
    resp = api.call("PUT", f"{Q}/lim", {"retries": 7, **body})
    assert resp.status_code == 400 and resp.data["error"]["field"] == field, resp.data
    assert "rate_limit" in resp.data["error"]["message"] or "parallelism" in resp.data["error"]["message"]
    queue = api.call("GET", f"{Q}/lim").data
    assert queue["retries"] == 3 and queue["rate_limit"] is None and queue["parallelism"] is None
    assert api.call("PUT", f"{F}/acme", body).data["error"]["field"] == field


def test_limits_at_their_bounds_are_kept_shown_and_lifted_with_null(api):
    limits = {"rate_limit": {"count": 100_000, "period_seconds": 7 * 86400}, "parallelism": 100}
    assert api.call("PUT", f"{Q}/lim", limits).data["rate_limit"] == limits["rate_limit"]
    queue = api.call("GET", f"{Q}/lim").data
    assert (queue["rate_limit"], queue["parallelism"]) == (limits["rate_limit"], 100)
    assert queue["counts"]["waiting"] == 0
    api.call("PUT", f"{Q}/lim", {"rate_limit": {"count": 1, "period_seconds": 1}, "parallelism": 1})
    lifted = api.call("PUT", f"{Q}/lim", {"rate_limit": None, "parallelism": None}).data
    assert lifted["rate_limit"] is None and lifted["parallelism"] is None


def test_named_flows_are_set_read_listed_and_deleted(api):
    made = api.call("PUT", f"{F}/acme-api", {"rate_limit": {"count": 5, "period_seconds": 60}})
    assert made.status_code == 200 and made.data["parallelism"] is None
    changed = api.call("PUT", f"{F}/acme-api", {"parallelism": 2}).data
    assert changed["rate_limit"] == {"count": 5, "period_seconds": 60} and changed["parallelism"] == 2
    got = api.call("GET", f"{F}/acme-api").data
    assert got["in_flight"] == 0 and got["next_send_at"] is None
    assert [f["key"] for f in api.call("GET", F).data["items"]] == ["acme-api"]
    assert api.call("PUT", f"{F}/bad:key", {}).status_code == 400
    assert api.call("DELETE", f"{F}/acme-api").data == {"deleted": "acme-api"}
    assert api.call("GET", f"{F}/acme-api").status_code == 404


def test_a_send_or_job_must_name_a_flow_that_exists(api):
    resp = api.call("POST", "/v1/scheduling/webhook/send",
                    {"url": "https://hooks.example.com/a", "payload": {}, "flow_key": "nope"})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "flow_key"
    assert "PUT /v1/scheduling/flows/nope" in resp.data["error"]["message"]
    api.call("PUT", f"{F}/acme", {"rate_limit": {"count": 1, "period_seconds": 1}})
    sent = api.call("POST", "/v1/scheduling/webhook/send",
                    {"url": "https://hooks.example.com/a", "payload": {}, "flow_key": "acme"})
    assert sent.status_code == 202 and sent.data["flow_key"] == "acme"
    job = api.call("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *",
                                                   "url": "https://hooks.example.com/j", "flow_key": "acme"})
    assert job.status_code == 201 and job.data["flow_key"] == "acme"
    on_queue = api.call("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *",
                                                        "queue": "q", "flow_key": "acme"})
    assert on_queue.status_code == 400 and on_queue.data["error"]["field"] == "flow_key"


# -- the limiter ---------------------------------------------------------------------------------

def _simulate(flow, n, t):
    """A deliver function asking for n messages in turn: a parked one comes back at its wake
    time with what was written on it. Returns when each was let go (the injected clock `t`)."""
    events = [(t[0], i, _rec(i)) for i in range(n)]
    heapq.heapify(events)
    sent = []
    while events:
        at, i, rec = heapq.heappop(events)
        t[0] = max(t[0], at)
        verdict = flow_control.admit(flow, rec, 30)
        if verdict is None:
            sent.append(t[0])
            flow_control.release(flow, rec, wake=False)
        else:
            heapq.heappush(events, (verdict["until"], i, {**rec, "flow_slot": verdict["slot"],
                                                         "flow_waits": verdict["waits"]}))
    return sent


def test_a_rate_limit_spreads_sends_evenly_never_more_than_count_in_a_period(aws, fake_time):
    flow = _flow(rate={"count": 5, "period_seconds": 2})
    sent = _simulate(flow, 23, fake_time)
    assert len(sent) == 23
    assert _windows_over(sent, 5, 2.0) == []
    assert min(b - a for a, b in zip(sent, sent[1:])) >= 0.4
    assert sent[-1] - sent[0] < 22 * flow.gap * 1.02, "the limit, not much slower"


def test_a_late_waiter_goes_when_it_comes_but_never_closer_than_the_spacing(aws, fake_time):
    flow = _flow(rate={"count": 1, "period_seconds": 10})
    gap = flow.gap
    assert flow_control.admit(flow, _rec(1), 30) is None
    second = flow_control.admit(flow, _rec(2), 30)      # reserves the slot one spacing on
    assert second["slot"] == pytest.approx(T0 + gap)
    fake_time[0] = T0 + 10.5
    third = flow_control.admit(flow, _rec(3), 30)       # the next slot, after the second's
    assert third["slot"] == pytest.approx(T0 + 2 * gap)
    fake_time[0] = T0 + 25                              # the second comes back late: it goes now
    assert flow_control.admit(flow, _rec(2, flow_slot=second["slot"]), 30) is None
    rec, lets_go = _rec(3, flow_slot=third["slot"]), None
    fake_time[0] = T0 + 25.5                            # the third, late too, must keep its distance
    for _ in range(5):
        verdict = flow_control.admit(flow, rec, 30)
        if verdict is None:
            lets_go = fake_time[0]
            break
        fake_time[0] = verdict["until"]
        rec = _rec(3, flow_slot=verdict["slot"])
    assert lets_go is not None and lets_go >= T0 + 25 + gap - 1e-3


def test_the_limit_is_shared_by_concurrent_deliver_instances(aws, monkeypatch):
    """Four threads, as four deliver function instances, share one limiter through DynamoDB.
    The times checked are the grants the limiter wrote (`last_at`), not when a thread noticed."""
    flow = _flow(rate={"count": 20, "period_seconds": 1})
    sent, lock, written = [], threading.Lock(), []
    real = flow_control.store.update_expression

    def recording(pk, sk, expression, **kw):
        out = real(pk, sk, expression, **kw)
        if "last_at = :now" in expression:
            with lock:
                written.append(kw["values"][":now"])
        return out
    monkeypatch.setattr(flow_control.store, "update_expression", recording)

    def instance(k):
        for i in range(8):
            rec = _rec(k * 100 + i)
            while (verdict := flow_control.admit(flow, rec, 30)) is not None:
                time.sleep(max(0.0, verdict["until"] - time.time()))
                rec = {**rec, "flow_slot": verdict["slot"]}
            with lock:
                sent.append(time.time())
    threads = [threading.Thread(target=instance, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 32 and len(written) == 32, "one grant per send"
    assert _windows_over(written, 20, 1.0) == []
    assert min(b - a for a, b in zip(sorted(written), sorted(written)[1:])) >= 0.05


def test_parallelism_leases_are_shared_released_and_expire(aws, fake_time):
    flow = _flow(parallelism=2)
    a, b, c = _rec(1), _rec(2), _rec(3)
    assert flow_control.admit(flow, a, 30) is None and flow_control.admit(flow, b, 30) is None
    wait = flow_control.admit(flow, c, 30)
    assert wait == {"until": T0 + 1, "slot": None, "waits": 1}
    assert flow_control.admit(flow, a, 30) is not None, "a twin of a message in flight waits too"
    assert flow_control.state(flow.pk, flow.sk)["in_flight"] == 2
    flow_control.release(flow, a, wake=False)
    assert flow_control.admit(flow, c, 30) is None
    # b's instance dies without giving its lease back: it expires after timeout + margin
    fake_time[0] = T0 + 30 + flow_control.LEASE_MARGIN + 1
    assert flow_control.admit(flow, _rec(4), 30) is None, "the expired leases were cleared"
    assert flow_control.state(flow.pk, flow.sk)["in_flight"] == 1


def test_a_waiter_backs_off_and_a_queue_waiter_is_capped_higher_than_a_polled_one(aws, fake_time):
    queue_flow, named = _flow(parallelism=1), flow_control.Flow("FLOW#p#k", "FLOW", {"parallelism": 1})
    flow_control.admit(queue_flow, _rec(1), 30)
    flow_control.admit(named, _rec(1), 30)
    waits = [flow_control.admit(queue_flow, _rec(2, flow_waits=w), 30)["until"] - T0 for w in (0, 3, 20)]
    assert waits == [1.0, 8.0, 300.0]
    assert flow_control.admit(named, _rec(2, flow_waits=20), 30)["until"] - T0 == 30.0


# -- through the deliver function ----------------------------------------------------------------

def test_messages_over_the_rate_wait_visibly_and_are_never_counted_as_attempts(api, project, receiver, offset):
    pid = project["project_id"]
    api.call("PUT", f"{Q}/slow", {"url": receiver.url("/slow"), "rate_limit": {"count": 1, "period_seconds": 3600}})
    ids = [api.call("POST", f"{Q}/publish", {"queue": "slow", "payload": {"i": i}}).data["message_id"]
           for i in range(3)]
    drain()
    assert len(receiver.at("/slow")) == 1, "one goes at once, however the batch's threads race"
    waiting = [d for d in (deliveries.get(pid, i) for i in ids) if d["state"] != "succeeded"]
    assert {w["state"] for w in waiting} == {"waiting"} and {w["attempt_count"] for w in waiting} == {0}
    assert api.call("GET", f"{Q}/slow").data["counts"]["waiting"] == 2
    assert api.call("GET", f"{Q}/slow/messages?state=waiting").data["items"][0]["state"] == "waiting"
    slots = sorted(w["next_attempt_at"] for w in waiting)
    assert slots[0] - waiting[0]["created_at"] >= 3600 - 5 and slots[1] - slots[0] >= 3600
    for hours in (1, 2):
        offset[0] = hours * 3605   # each a little after its slot, and a full period after the send before
        reconciler.run()
        drain()
        assert len(receiver.at("/slow")) == 1 + hours
    offset[0] = 29 * 86400   # long after (within the 30 days a succeeded delivery is kept)
    assert reconciler.run() == {}, "nothing owed"
    done = [deliveries.get(pid, i) for i in ids]
    assert {d["state"] for d in done} == {"succeeded"} and {d["attempt_count"] for d in done} == {1}
    assert receiver.at("/slow")[0].verified   # the later ones are signed an hour ahead of the receiver's clock


def _drain_until_delivered(pid, ids, rounds=20):
    """The deliver function, round after round (retries due in real time), until all succeeded."""
    for _ in range(rounds):
        drain()
        if all(deliveries.get(pid, i)["state"] == "succeeded" for i in ids):
            return
        time.sleep(0.5)


def test_parallelism_one_is_fifo_and_a_retrying_message_holds_back_the_rest(api, project, receiver, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")   # the retry is due at once
    pid = project["project_id"]
    receiver.script("/fifo", [500, 200])
    api.call("PUT", f"{Q}/fifo", {"url": receiver.url("/fifo"), "parallelism": 1})
    ids = [r["message_id"] for r in api.call("POST", f"{Q}/publish-batch", {"messages": [
        {"queue": "fifo", "payload": {"i": i}} for i in range(4)]}).data["results"]]
    _drain_until_delivered(pid, ids)
    assert [a.json["i"] for a in receiver.at("/fifo")] == [0, 0, 1, 2, 3]
    assert [deliveries.get(pid, i)["attempt_count"] for i in ids] == [2, 1, 1, 1]


def test_fifo_holds_even_while_the_state_index_has_not_caught_up_with_a_retry(api, project, receiver, monkeypatch):
    """On DynamoDB the state index lags: a message that just went from queued to retrying may
    be in neither partition when the next message asks whether it is first. Simulated here by
    an index that never shows retrying messages: the queue must still wait for the retry (due
    a second later, so the next message is woken before it)."""
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "1")
    real = store.query_page

    def lagging(index, pk_value, **kw):
        items, cursor = real(index, pk_value, **kw)
        return ([] if index == "gsi2" and pk_value.endswith("#retrying") else items), cursor
    monkeypatch.setattr(store, "query_page", lagging)
    pid = project["project_id"]
    receiver.script("/lag", [500, 500, 200])
    api.call("PUT", f"{Q}/lag", {"url": receiver.url("/lag"), "parallelism": 1})
    ids = [r["message_id"] for r in api.call("POST", f"{Q}/publish-batch", {"messages": [
        {"queue": "lag", "payload": {"i": i}} for i in range(3)]}).data["results"]]
    _drain_until_delivered(pid, ids, rounds=40)
    assert [a.json["i"] for a in receiver.at("/lag")] == [0, 0, 0, 1, 2]


def test_a_flow_key_limits_webhooks_and_cron_runs_together(api, project, receiver, offset, monkeypatch):
    from chalicelib.aws import dispatch
    # time jumps here (offset); moto's SQS delays run on the wall clock: a delayed message is
    # visible at once, and the deliver function's early-message path keeps it until its time
    monkeypatch.setattr(dispatch, "hop_delay", lambda wait_seconds: 0)
    pid = project["project_id"]
    api.call("PUT", f"{F}/partner", {"rate_limit": {"count": 1, "period_seconds": 600}})
    sent = [api.call("POST", "/v1/scheduling/webhook/send", {"url": receiver.url("/p"), "payload": {"i": i},
                                                               "flow_key": "partner"}).data for i in range(2)]
    drain()
    assert len(receiver.at("/p")) == 1
    [second] = [d for d in (deliveries.get(pid, s["delivery_id"]) for s in sent) if d["state"] != "succeeded"]
    assert second["state"] == "waiting" and second["attempt_count"] == 0
    assert api.call("GET", f"{F}/partner").data["next_send_at"] is not None
    offset[0] = 600 + 30 + 60 + 5   # past its slot: its waiting work is due (no marker: the message is its lease)
    drain()
    assert len(receiver.at("/p")) == 2


def test_a_waiting_message_can_be_cancelled_and_a_paused_queue_holds_it(api, project, receiver):
    pid = project["project_id"]
    api.call("PUT", f"{Q}/c", {"url": receiver.url("/c"), "rate_limit": {"count": 1, "period_seconds": 3600}})
    ids = [api.call("POST", f"{Q}/publish", {"queue": "c", "payload": {"i": i}}).data["message_id"] for i in range(3)]
    drain()
    first, second = [i for i in ids if deliveries.get(pid, i)["state"] == "waiting"]
    assert api.call("POST", f"{Q}/messages/{first}/cancel").data["state"] == "cancelled"
    record = deliveries.get(pid, second)
    assert record["state"] == "waiting"
    queues.put(pid, "c", {"paused": True})
    # its work comes due (its rate slot is an hour or two away: the work says "now")
    router.process_batch([json.dumps(deliveries.work(second, 1, clock.now()))])
    assert messages.get(pid, second)["state"] == "held"
