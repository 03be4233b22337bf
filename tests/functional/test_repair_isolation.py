"""Issue 22: one bad item never blocks its shard, a run has a time budget, and every shard is
reached. A repair that raises moves its marker on with backoff and, after a few tries, is
quarantined, visibly, with its error in the delivery's view."""
from chalicelib.core import clock, due
from chalicelib.services.repair import reconciler, timers

from .conftest import dispatch_messages

W = "/v1/scheduling/webhook"


def delayed_sends(api, receiver, n):
    """n webhook sends an hour away: each has a marker and no SQS message yet."""
    return [api.call("POST", W + "/send", {"url": receiver.url("/r"), "payload": {"i": i},
                                           "delay_seconds": 3600}).data["delivery_id"] for i in range(n)]


def broken_for(monkeypatch, ids):
    real = timers.finish_delivery

    def finish(record, now):
        if record["delivery_id"] in ids:
            raise RuntimeError("boom: the scheduler timed out\nsecond line never kept")
        return real(record, now)
    monkeypatch.setattr(timers, "finish_delivery", finish)


def test_a_repair_that_raises_never_hides_the_items_behind_it(api, receiver, monkeypatch):
    monkeypatch.setattr(due, "SHARDS", 1)                    # all three in one shard
    monkeypatch.setattr(timers, "MAX_ITEMS_PER_SHARD", 2)
    ids = delayed_sends(api, receiver, 3)
    broken_for(monkeypatch, ids[:2])                         # the first two in marker order raise
    later = clock.now() + 3600
    assert reconciler.run(now=later)["error"] == 2
    assert reconciler.run(now=later).get("sent") == 1        # their markers moved on: the third is reached
    assert [m["d"] for m in dispatch_messages()] == [ids[2]]
    view = api.call("GET", f"{W}/deliveries/{ids[0]}").data
    assert view["state"] == "queued"
    assert view["repair"] == {"error": "RuntimeError: boom: the scheduler timed out", "tries": 1,
                              "at": clock.rfc3339(later), "quarantined": False}


def test_after_five_failed_repairs_an_item_is_quarantined_then_healed(api, receiver, monkeypatch):
    [dlv] = delayed_sends(api, receiver, 1)
    real = timers.finish_delivery
    broken_for(monkeypatch, {dlv})
    now = clock.now() + 3600
    outcomes = []
    for _ in range(timers.QUARANTINE_AFTER):
        outcomes.append(reconciler.run(now=now))
        now += timers.ERROR_BACKOFF_MAX                  # past its moved marker, whatever the backoff
    assert [o.get("error", 0) for o in outcomes] == [1, 1, 1, 1, 0]
    assert outcomes[-1]["quarantined"] == 1
    listed = api.call("GET", "/v1/scheduling/deliveries?kind=webhook").data["items"]
    assert [d["repair"]["quarantined"] for d in listed if d["delivery_id"] == dlv] == [True]
    monkeypatch.setattr(timers, "finish_delivery", real)
    assert reconciler.run(now=now).get("sent") == 1          # the cause is fixed: it goes, and its error too
    assert "repair" not in api.call("GET", f"{W}/deliveries/{dlv}").data


def test_a_run_out_of_time_leaves_the_rest_due_for_the_next(api, receiver):
    [dlv] = delayed_sends(api, receiver, 1)
    later = clock.now() + 3600
    assert reconciler.run(now=later, budget=-1) == {"out_of_time": 1}
    assert dispatch_messages() == []
    assert reconciler.run(now=later).get("sent") == 1
    assert [m["d"] for m in dispatch_messages()] == [dlv]


def test_each_run_starts_at_another_shard(aws, monkeypatch):
    from chalicelib.aws import store
    seen = []
    monkeypatch.setattr(store, "keys_up_to", lambda index, partition, upto, limit: seen.append(partition) or [])
    starts = set()
    for minute in range(8):
        seen.clear()
        reconciler.run(now=1_800_000_000 + minute * due.RECONCILE_EVERY)
        assert sorted(seen) == sorted(due.partition(s) for s in range(due.SHARDS))   # every shard, once
        starts.add(seen[0])
    assert len(starts) == 8                                   # a run out of time starves no shard for good
