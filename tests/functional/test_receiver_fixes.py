"""Receivers' fixes, each pinned by a test that failed before it:
1. a paused queue (or one without an endpoint) no longer starves an open breaker's probe;
2. a long release of a queue's held messages runs as one chain, not one more a minute;
3. concurrent PUTs of new flows never pass the flow limit;
4. a bulk replay charges the daily deliveries quota only for what it replays."""
import json

import pytest

from chalicelib.aws import clients, dispatch, keys, store
from chalicelib.core import due
from chalicelib.services.deliver import router
from chalicelib.services.delivery import deliveries
from chalicelib.services.receivers import flows, holding
from chalicelib.services.repair import reconciler
from chalicelib.services.tenancy import quotas

from .conftest import come_back, dispatch_messages, drain, receive_work, reconcile_after
from .test_deliveries_api import REPLAY, failed_webhooks, take_messages
from .test_limits import N, at_once, limits

Q = "/v1/scheduling/queue"
W = "/v1/scheduling/webhook/send"


# ---------------------------------------------------------------- 1. the probe and a paused queue

@pytest.mark.parametrize("stop", [{"paused": True}, {"url": None}])
def test_a_paused_queue_does_not_starve_the_probe_of_the_endpoints_held_sends(
        api, project, receiver, offset, monkeypatch, stop):
    """The endpoint holds a message of its queue and a webhook send; the queue is then paused
    (or loses its endpoint). Its message cannot go: released as the probe, it was held again by
    its queue before reaching the endpoint, every probe period, and the held send never went."""
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    pid = project["project_id"]
    receiver.script("/ep", [500])
    cfg = {"failures": 1, "min_seconds": 0, "probe_seconds": 60}
    api.call("PUT", f"{Q}/pq", {"url": receiver.url("/ep"), "retries": 10, "circuit_breaker": cfg})
    msg = api.call("POST", f"{Q}/publish", {"queue": "pq", "payload": {"q": 1}}).data["message_id"]
    drain()   # it fails: the breaker opens; its retry is held by the breaker
    send = api.call("POST", W, {"url": receiver.url("/ep"), "payload": {"w": 1}, "retries": 10,
                                "circuit_breaker": cfg}).data["delivery_id"]
    drain()
    assert deliveries.get(pid, msg)["state"] == deliveries.get(pid, send)["state"] == "held"
    [ep] = api.call("GET", "/v1/scheduling/endpoints").data["items"]
    assert ep["state"] == "open" and ep["queues"] == ["pq"] and ep["sources"] == ["webhook"]
    assert api.call("PUT", f"{Q}/pq", stop).status_code == 200
    receiver.script("/ep", [200])   # it recovers; the next probe finds out
    tried = deliveries.get(pid, msg)["attempt_count"]
    offset[0] = 61
    reconciler.run()
    drain()
    assert deliveries.get(pid, send)["state"] == "succeeded", "the send that can go was the probe"
    assert api.call("GET", "/v1/scheduling/endpoints").data["items"][0]["state"] == "closed"
    left = deliveries.get(pid, msg)
    assert left["state"] == "held" and left["attempt_count"] == tried, "the queue's message waits for its queue"


# ---------------------------------------------------------------- 2. one release chain

def release_tasks() -> list[dict]:
    return [m["release"] for m in dispatch_messages() if "release" in m]


def hold_then_let_go(api, name: str, count: int, receiver, stop: dict, go: dict) -> list[str]:
    """`count` messages held on a queue that cannot send (`stop`), their one re-check past, then
    the PUT that lets it send (`go`): a page released now, the rest owed to a release chain."""
    api.call("PUT", f"{Q}/{name}", stop)
    batch = api.call("POST", f"{Q}/publish-batch",   # one request: the plan's publishes per second allow 10
                     {"messages": [{"queue": name, "payload": {"i": i}} for i in range(count)]}).data
    ids = [r["message_id"] for r in batch["results"]]
    assert reconcile_after(due.HELD_RECHECK + 1) == {"held": count}, "their queue does not accept yet"
    assert api.call("PUT", f"{Q}/{name}", go).status_code == 200
    return ids


def test_a_long_release_runs_as_one_chain_and_a_lost_chain_is_followed_by_another(
        api, project, receiver, offset, monkeypatch):
    """Pages of 2: the release of 6 held messages goes on through release tasks. Its RELEASE
    marker used to stay where the PUT set it, so each reconciler run while the chain went on
    started another chain; now it moves on with the chain and the chain's last step drops it.
    A chain lost for good (its task in the dead-letter queue) is followed by another release
    once the moved marker falls due."""
    monkeypatch.setattr(holding, "RELEASE_PAGE", 2)
    pid = project["project_id"]
    ids = hold_then_let_go(api, "big", 6, receiver, {}, {"url": receiver.url("/big")})
    assert len(release_tasks()) == 1
    assert reconcile_after(due.SYNC_GRACE + 1) == {}, "the reconciler's next run, while the chain goes on"
    assert len(release_tasks()) == 1, "one chain, not one more a minute"
    drain()
    assert {deliveries.get(pid, i)["state"] for i in ids} == {"succeeded"}
    assert len(receiver.at("/big")) == 6, "each sent once"
    assert "gsi3sk" not in holding.find(pid, "big"), "the chain's last step dropped the marker"

    more = hold_then_let_go(api, "big", 6, receiver, {"paused": True}, {"paused": False})
    seen = receive_work()
    for m in seen:   # the chain's task is lost (it ends in the dead-letter queue)
        if "release" in json.loads(m["Body"]):
            clients.sqs().delete_message(QueueUrl=dispatch.dispatch_queue_url(), ReceiptHandle=m["ReceiptHandle"])
    come_back(m for m in seen if "release" not in json.loads(m["Body"]))
    drain()
    assert [deliveries.get(pid, i)["state"] for i in more].count("held") == 4
    assert reconcile_after(due.SYNC_GRACE + 1) == {}, "the marker waits for the chain"
    offset[0] = holding.RELEASE_RECHECK + 1   # the moved marker falls due
    assert reconciler.run() == {"released": 1}
    drain()
    assert {deliveries.get(pid, i)["state"] for i in more} == {"succeeded"}
    assert "gsi3sk" not in holding.find(pid, "big")
    assert reconcile_after(86400) == {}, "nothing owed"


# ---------------------------------------------------------------- 3. the flow limit under concurrency

def test_concurrent_puts_of_new_flows_leave_exactly_the_limit(aws, project, monkeypatch):
    monkeypatch.setattr(flows, "MAX_FLOWS", 4)
    pid = project["project_id"]
    out = at_once(lambda i: flows.put(pid, f"f{i}", {"parallelism": 1}))
    assert sum(isinstance(o, dict) for o in out) == 4 and out.count("quota_exceeded") == N - 4, out
    made = [o["key"] for o in out if isinstance(o, dict)]
    assert sorted(f["key"] for f in flows.list_(pid, {"limit": "100"})["items"]) == sorted(made)
    # changing one that exists is not a new flow, at the limit too; a delete gives its place back
    assert flows.put(pid, made[0], {"parallelism": 3})["parallelism"] == 3
    flows.delete(pid, made[0])
    assert flows.put(pid, "another", {})["key"] == "another"
    assert at_once(lambda i: flows.put(pid, f"g{i}", {}), n=6) == ["quota_exceeded"] * 6


def test_a_project_with_flows_from_before_the_counter_is_counted_from_them(aws, project, monkeypatch):
    """A project whose flows were made before the counter existed: its count is seeded from them."""
    monkeypatch.setattr(flows, "MAX_FLOWS", 3)
    pid = project["project_id"]
    for i in range(2):
        flows.put(pid, f"old{i}", {})
    store.delete(f"USAGE#{pid}", "COUNT#flows")   # as it was before the counter
    assert flows.put(pid, "third", {})["key"] == "third"
    assert at_once(lambda i: flows.put(pid, f"n{i}", {}), n=4) == ["quota_exceeded"] * 4


# ---------------------------------------------------------------- 4. a bulk replay's charge

def test_a_bulk_replay_charges_the_day_only_for_what_it_replays(api, project, receiver, monkeypatch):
    """3 failed sends matched; one is retried by hand before its page is replayed: the replay
    skips it and takes 2 deliveries from the day, not 3."""
    pid = project["project_id"]
    failed = failed_webhooks(api, receiver, 3)
    job = api.call("POST", REPLAY, {}).data
    [task] = take_messages()
    router.process_batch([task])   # the matching step
    assert api.call("GET", f"/v1/scheduling/replays/{job['replay_id']}").data["state"] == "replaying"
    assert api.call("POST", f"/v1/scheduling/webhook/deliveries/{failed[0]}/retry").status_code == 202
    before = quotas.usage(pid)["deliveries_per_day"]
    drain()
    done = api.call("GET", f"/v1/scheduling/replays/{job['replay_id']}").data
    assert (done["state"], done["matched"], done["queued"], done["skipped"]) == ("completed", 3, 2, 1)
    assert quotas.usage(pid)["deliveries_per_day"] - before == 2


def test_a_bulk_replay_is_not_stopped_by_items_it_would_skip(api, project, receiver, monkeypatch):
    """With room for 1 more delivery today, a page of 3 of which 2 are no longer failed replays
    the one that is (before, the page asked for 3 and the job stopped)."""
    pid = project["project_id"]
    failed = failed_webhooks(api, receiver, 3)
    job = api.call("POST", REPLAY, {}).data
    [task] = take_messages()
    router.process_batch([task])
    for d in failed[:2]:
        store.update(*keys.delivery(d), {"state": "succeeded"})   # done otherwise meanwhile
    limits(monkeypatch, deliveries_per_day=quotas.usage(pid)["deliveries_per_day"] + 1)
    drain()
    done = api.call("GET", f"/v1/scheduling/replays/{job['replay_id']}").data
    assert (done["state"], done["queued"], done["skipped"]) == ("completed", 1, 2), done
    assert deliveries.get(pid, failed[2])["state"] == "succeeded"
