"""Queues through the API against moto: publish, held messages, endpoints, batch, cancel."""
import json

import pytest

from chalicelib import config
from chalicelib.aws import clients

from .conftest import dispatch_messages

Q = "/v1/scheduling/queue"


def stored_messages():
    items = clients.dynamodb().scan(TableName=config.table_name())["Items"]
    return [i for i in items if i["pk"]["S"].startswith("DLV#msg_")]


def test_the_seed_publish_on_a_fresh_project_is_held_not_lost(api):
    resp = api.call("POST", f"{Q}/publish", {"queue": "send-daily-digest",
                                             "payload": {"user_id": "u_123", "kind": "manual-trigger"},
                                             "delay_seconds": 0})
    assert resp.status_code == 202, resp.data
    msg = resp.data
    assert msg["message_id"].startswith("msg_") and msg["state"] == "held"
    assert msg["deliver_at"].endswith("Z")
    assert dispatch_messages() == []          # nothing to deliver to yet
    queue = api.call("GET", f"{Q}/send-daily-digest").data
    assert queue["url"] is None and queue["counts"]["held"] == 1
    got = api.call("GET", f"{Q}/messages/{msg['message_id']}").data
    assert got["state"] == "held" and got["queue"] == "send-daily-digest"


def test_attaching_an_endpoint_releases_held_messages_in_publish_order(api):
    ids = [api.call("POST", f"{Q}/publish", {"queue": "q1", "payload": {"i": i}}).data["message_id"]
           for i in range(3)]
    resp = api.call("PUT", f"{Q}/q1", {"url": "https://hooks.example.com/q1", "retries": 5})
    assert resp.status_code == 200 and resp.data["url"] == "https://hooks.example.com/q1"
    assert [m["d"] for m in dispatch_messages()] == ids
    states = {api.call("GET", f"{Q}/messages/{i}").data["state"] for i in ids}
    assert states == {"queued"}


def test_publishing_to_a_queue_with_an_endpoint_queues_at_once(api):
    api.call("PUT", f"{Q}/q2", {"url": "https://hooks.example.com/q2"})
    msg = api.call("POST", f"{Q}/publish", {"queue": "q2", "payload": {}}).data
    assert msg["state"] == "queued" and [m["d"] for m in dispatch_messages()] == [msg["message_id"]]


def test_a_paused_queue_holds(api):
    api.call("PUT", f"{Q}/q3", {"url": "https://hooks.example.com/q3", "paused": True})
    msg = api.call("POST", f"{Q}/publish", {"queue": "q3", "payload": {}}).data
    assert msg["state"] == "held"
    api.call("PUT", f"{Q}/q3", {"paused": False})
    assert api.call("GET", f"{Q}/messages/{msg['message_id']}").data["state"] == "queued"


def test_cancel_before_delivery_only(api):
    msg = api.call("POST", f"{Q}/publish", {"queue": "q4", "payload": {}}).data
    resp = api.call("POST", f"{Q}/messages/{msg['message_id']}/cancel")
    assert resp.status_code == 200 and resp.data["state"] == "cancelled"
    again = api.call("POST", f"{Q}/messages/{msg['message_id']}/cancel")
    assert again.status_code == 409 and again.data["error"]["state"] == "cancelled"


def test_list_queues_and_messages_with_counts(api):
    for i in range(3):
        api.call("POST", f"{Q}/publish", {"queue": "alpha", "payload": {"i": i}})
    api.call("POST", f"{Q}/publish", {"queue": "beta", "payload": {}})
    queues = api.call("GET", Q).data["items"]
    assert [(q["name"], q["counts"]["held"]) for q in queues] == [("alpha", 3), ("beta", 1)]
    msgs = api.call("GET", f"{Q}/alpha/messages?state=held&limit=2").data
    assert len(msgs["items"]) == 2 and msgs["next_cursor"]


def test_delete_refuses_pending_messages_unless_forced_and_then_cancels_them(api):
    msg = api.call("POST", f"{Q}/publish", {"queue": "gone", "payload": {}}).data
    resp = api.call("DELETE", f"{Q}/gone")
    assert resp.status_code == 409 and resp.data["error"]["pending"] == {"held": 1}
    resp = api.call("DELETE", f"{Q}/gone?force=true")
    assert resp.status_code == 200 and resp.data["cancelled_messages"] == 1
    assert api.call("GET", f"{Q}/gone").status_code == 404
    assert api.call("GET", f"{Q}/messages/{msg['message_id']}").data["state"] == "cancelled"


def test_publish_batch_reports_each_slot_and_bad_ones_do_not_sink_the_rest(api):
    api.call("PUT", f"{Q}/bq", {"url": "https://hooks.example.com/bq"})
    batch = [{"queue": "bq", "payload": {"i": 0}}, {"queue": "bq", "payload": [1]},
             {"queue": "bad name!", "payload": {}}, {"queue": "bq", "payload": {"i": 3}, "delay_seconds": 5}]
    resp = api.call("POST", f"{Q}/publish-batch", {"messages": batch})
    assert resp.status_code == 202
    r = resp.data["results"]
    assert r[0]["state"] == "queued" and r[3]["state"] == "queued"
    assert r[1]["error"]["field"] == "payload" and r[2]["error"]["field"] == "queue"
    assert resp.data["accepted"] == 2 and resp.data["rejected"] == 2
    assert len(stored_messages()) == 2


def test_idempotent_publish(api):
    body = {"queue": "iq", "payload": {"a": 1}, "idempotency_key": "k-1"}
    a, b = api.call("POST", f"{Q}/publish", body), api.call("POST", f"{Q}/publish", body)
    assert a.data == b.data and len(stored_messages()) == 1
    assert api.call("POST", f"{Q}/publish", {**body, "payload": {"a": 2}}).status_code == 422


BAD_PUBLISH = [
    ({"queue": "", "payload": {}}, 400, "queue"), ({"queue": "x" * 81, "payload": {}}, 400, "queue"),
    ({"queue": "has space", "payload": {}}, 400, "queue"), ({"queue": "publish", "payload": {}}, 400, "queue"),
    ({"queue": "messages", "payload": {}}, 400, "queue"), ({"queue": 5, "payload": {}}, 400, "queue"),
    ({"queue": "q", "payload": [1]}, 400, "payload"), ({"queue": "q", "payload": "s"}, 400, "payload"),
    ({"queue": "q"}, 400, "payload"), ({"queue": "q", "payload": {"a": "x" * 262144}}, 413, "payload"),
    ({"queue": "q", "payload": {}, "delay_seconds": -1}, 400, "delay_seconds"),
    ({"queue": "q", "payload": {}, "delay_seconds": 1.5}, 400, "delay_seconds"),
    ({"queue": "q", "payload": {}, "delay_seconds": 31536001}, 400, "delay_seconds"),
    ({"queue": "q", "payload": {}, "idempotency_key": "k" * 256}, 400, "idempotency_key"),
]


@pytest.mark.parametrize("body,status,field", BAD_PUBLISH)
def test_bad_publish_is_refused_and_stores_nothing(api, body, status, field):
    resp = api.call("POST", f"{Q}/publish", body)
    assert resp.status_code == status, resp.data
    assert resp.data["error"]["field"] == field
    assert stored_messages() == [] and api.call("GET", Q).data["items"] == []


def test_bad_batches(api):
    for body in ({"messages": []}, {"messages": [{"queue": "q", "payload": {}}] * 101}, {"messages": "x"}, {}):
        resp = api.call("POST", f"{Q}/publish-batch", body)
        assert resp.status_code == 400 and resp.data["error"]["field"] == "messages"
    assert stored_messages() == []


def test_put_with_a_bad_url_or_name_is_refused(api):
    assert api.call("PUT", f"{Q}/q9", {"url": "ftp://x.example.com/"}).data["error"]["field"] == "url"
    assert api.call("PUT", f"{Q}/q9", {"retries": 99}).data["error"]["field"] == "retries"
    assert api.call("PUT", f"{Q}/bad%20name", {"url": "https://x.example.com/"}).status_code == 400
    assert api.call("GET", Q).data["items"] == []


def test_unknown_message_and_queue_are_404(api):
    assert api.call("GET", f"{Q}/messages/msg_01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404
    assert api.call("POST", f"{Q}/messages/msg_01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel").status_code == 404
    assert api.call("GET", f"{Q}/nope").status_code == 404
    assert api.call("GET", f"{Q}/nope/messages").status_code == 404
    assert api.call("DELETE", f"{Q}/nope").status_code == 404


@pytest.mark.parametrize("delay", [60, 901, 3600, 86400, 365 * 24 * 3600])
def test_long_delays_wait_in_the_due_index_one_send_each_never_early(aws, project, monkeypatch, delay):
    """A wait SQS can hold goes to SQS at once; a longer one sends nothing until the reconciler's
    sweep finds it within SQS's reach, then exactly one message, whose delay ends on time. The
    same one send whether the delay is a minute or a year (issue 11: cost does not grow)."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.aws import dispatch
    from chalicelib.core import clock, due
    from chalicelib.services.deliver import router
    from chalicelib.services.queues import messages, queues
    from chalicelib.services.repair import reconciler
    start = 1_800_000_000.25
    t = [start]
    monkeypatch.setattr(clock, "_now", lambda: t[0])
    pid = project["project_id"]
    queues.put(pid, "slow", {"url": "https://hooks.example.com/slow"})
    sent = []
    monkeypatch.setattr(dispatch, "enqueue", lambda work, wait=0.0: sent.append((work, wait)))
    monkeypatch.setattr(dispatch, "enqueue_many", lambda works: sent.extend(works))
    msg = messages.publish(pid, {"queue": "slow", "payload": {"a": 1}, "delay_seconds": delay}, None)
    if delay > due.SQS_LEAD:
        assert sent == [], "nothing in SQS for a wait it cannot hold"
        t[0] = start + delay - due.SQS_LEAD - 1
        assert reconciler.run() == {} and sent == [], "not yet within reach"
        t[0] += 1 + 30                              # the sweep runs up to a minute later
        assert reconciler.run() == {"sent": 1}
    [(work, wait)] = sent
    assert 0 <= dispatch.hop_delay(wait) <= 900
    t[0] += dispatch.hop_delay(wait)                # SQS holds it that long (whole seconds)
    ok = sender.AttemptResult(status=200, duration_ms=1, error=None, excerpt="", retry_after=None)
    with mock.patch.object(sender, "post", return_value=ok) as post:
        router.process_batch([json.dumps(work)])
    assert post.call_count == 1 and msg["state"] == "queued" and len(sent) == 1
    assert t[0] >= start + delay, "never early"
    assert t[0] - (start + delay) < 1.0, "late only by the rounding of SQS's delay to a second"
    assert reconciler.run(now=t[0] + 7 * 86400) == {}, "delivered: nothing is owed"


def test_a_publish_whose_send_fails_is_refused_and_its_retry_made_once(api, monkeypatch):
    """Handed before stored: SQS refusing the send refuses the publish (503, nothing stored),
    and a client's retry with the same key makes the one message."""
    from chalicelib.aws import dispatch
    from .conftest import reconcile_after
    api.call("PUT", f"{Q}/iq2", {"url": "https://hooks.example.com/iq2"})
    body = {"queue": "iq2", "payload": {"a": 1}, "idempotency_key": "k-2"}
    real = dispatch.enqueue_many

    def down(*a, **k):
        raise RuntimeError("SQS is down")
    monkeypatch.setattr(dispatch, "enqueue_many", down)
    first = api.call("POST", f"{Q}/publish", body)
    assert first.status_code == 503 and stored_messages() == [] and dispatch_messages() == []
    monkeypatch.setattr(dispatch, "enqueue_many", real)
    again = api.call("POST", f"{Q}/publish", body)
    assert again.status_code == 202 and len(stored_messages()) == 1
    assert [m["d"] for m in dispatch_messages()] == [again.data["message_id"]]
    assert reconcile_after(3600) == {}


def test_a_batch_to_a_held_queue_is_released_and_listed_in_batch_order(api, monkeypatch):
    from chalicelib.core import clock
    frozen = clock.now()
    clock.set_clock(lambda: frozen)     # all 100 ids made in one millisecond
    try:
        resp = api.call("POST", f"{Q}/publish-batch",
                        {"messages": [{"queue": "bulk", "payload": {"i": i}} for i in range(100)]})
    finally:
        clock.set_clock(None)
    ids = [r["message_id"] for r in resp.data["results"]]
    assert len(set(ids)) == 100
    listed, cursor = [], None
    while True:
        page = api.call("GET", f"{Q}/bulk/messages?limit=100" + (f"&cursor={cursor}" if cursor else "")).data
        listed += [m["message_id"] for m in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert listed == ids[::-1], "newest first, and within one millisecond the batch's order"
    from chalicelib.aws import dispatch
    enqueued = []
    real = dispatch.enqueue_many
    monkeypatch.setattr(dispatch, "enqueue_many", lambda works: (enqueued.extend(works), real(works))[1])
    api.call("PUT", f"{Q}/bulk", {"url": "https://hooks.example.com/bulk"})
    assert [work["d"] for work, _delay in enqueued] == ids, "released in publish order"


def test_a_batch_may_be_larger_than_one_payload_but_not_unbounded(api):
    four_kb = {"blob": "x" * 4096}
    resp = api.call("POST", f"{Q}/publish-batch",
                    {"messages": [{"queue": "big", "payload": four_kb} for _ in range(100)]})
    assert resp.status_code == 202 and resp.data["accepted"] == 100, resp.data
    huge = {"blob": "x" * (200 * 1024)}
    resp = api.call("POST", f"{Q}/publish-batch",
                    {"messages": [{"queue": "huge", "payload": huge} for _ in range(6)]})
    assert resp.status_code == 413 and "split the batch" in resp.data["error"]["message"]
    assert api.call("GET", f"{Q}/huge").status_code == 404


def test_a_failing_message_comes_back_alone_and_its_batch_mates_are_not_rerun(aws, project, monkeypatch):
    """Partial batch responses: a message whose processing raises is reported by its SQS id; the
    others are done (a waiting one is not re-queued again, so no hop chain forks), and the crash
    is counted on its own delivery, not on theirs."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.aws import keys, store
    from chalicelib.services.deliver import router
    from chalicelib.services.queues import messages, queues
    pid = project["project_id"]
    queues.put(pid, "mates", {"url": "https://hooks.example.com/mates"})
    bad = messages.publish(pid, {"queue": "mates", "payload": {"bad": True}}, None)
    good = messages.publish(pid, {"queue": "mates", "payload": {"ok": True}}, None)
    works = {m["d"]: m for m in dispatch_messages()}
    ok = sender.AttemptResult(status=200, duration_ms=1, error=None, excerpt="", retry_after=None)

    def post(url, body, headers, **kw):
        if b"bad" in body:
            raise RuntimeError("a bug that only this message hits")
        return ok
    with mock.patch.object(sender, "post", side_effect=post):
        out = router.process_batch([json.dumps(works[bad["message_id"]]), json.dumps(works[good["message_id"]])],
                                     message_ids=["m-bad", "m-good"])
    assert out["batchItemFailures"] == [{"itemIdentifier": "m-bad"}]
    assert store.get(*keys.delivery(bad["message_id"]))["crashes"] == 1
    assert store.get(*keys.delivery(good["message_id"])).get("crashes", 0) == 0
    assert store.get(*keys.delivery(good["message_id"]))["state"] == "succeeded"


def test_a_message_that_keeps_crashing_us_is_failed_visibly_after_its_own_crashes(aws, project):
    """Poison counts the message's own crashes (3), not receives caused by others."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.aws import keys, store
    from chalicelib.services.deliver import attempts, router
    from chalicelib.services.queues import messages, queues
    pid = project["project_id"]
    queues.put(pid, "poison", {"url": "https://hooks.example.com/p"})
    msg = messages.publish(pid, {"queue": "poison", "payload": {}}, None)
    [work] = dispatch_messages()
    with mock.patch.object(sender, "post", side_effect=RuntimeError("boom")):
        for i in range(attempts.POISON_CRASHES):
            out = router.process_batch([json.dumps(work)], message_ids=[f"m-{i}"])
            assert out["batchItemFailures"] == [{"itemIdentifier": f"m-{i}"}]
        out = router.process_batch([json.dumps(work)], message_ids=["m-last"])
    assert out["outcomes"] == ["poison"] and out["batchItemFailures"] == []
    record = store.get(*keys.delivery(msg["message_id"]))
    assert record["state"] == "failed" and record["attempts"][-1]["error"].startswith("poison")
    assert record.get("dead_lettered") is True


def test_an_early_hop_forked_in_two_still_sends_once(aws, project, monkeypatch):
    """A work message that arrives early (a clock ahead, or a wait queued before the due index)
    waits out the rest as a hop; if two copies of a hop exist, only one may send, and the one
    that claimed may send again if it crashes before recording (same SQS message id)."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.core import clock
    from chalicelib.services.deliver import router
    from chalicelib.services.queues import messages, queues
    t = [1_800_000_000.0]
    monkeypatch.setattr(clock, "_now", lambda: t[0])
    pid = project["project_id"]
    queues.put(pid, "far", {"url": "https://hooks.example.com/far"})
    msg = messages.publish(pid, {"queue": "far", "payload": {}, "delay_seconds": 600}, None)
    copy = {"d": msg["message_id"], "n": 1, "at": t[0] + 600, "h": 1}
    t[0] += 600
    ok = sender.AttemptResult(status=200, duration_ms=1, error=None, excerpt="", retry_after=None)
    with mock.patch.object(sender, "post", side_effect=[RuntimeError("crash before the send"), ok, ok]) as post:
        crashed = router.process_batch([json.dumps(copy)], message_ids=["m-a"])          # claims, crashes
        assert crashed["batchItemFailures"] == [{"itemIdentifier": "m-a"}]
        out = router.process_batch([json.dumps(copy), json.dumps(copy)], message_ids=["m-b", "m-a"])
    assert out["outcomes"] == ["duplicate hop", "succeeded"]
    assert post.call_count == 2, "the crashed try and its redelivery; the forked copy sent nothing"


def test_a_publish_racing_the_put_that_attaches_an_endpoint_is_released_by_its_recheck(aws, project):
    """Publish read "no endpoint", then the PUT attached one and found nothing held, then the
    publish wrote its message held: a held message on a queue that accepts. Its own re-check
    marker releases it (the held index, eventually consistent, may hide it from a PUT too)."""
    from chalicelib.core import due
    from chalicelib.services.delivery import deliveries
    from chalicelib.services.queues import messages, queues
    from .conftest import reconcile_after
    pid = project["project_id"]
    queue_then = queues.ensure(pid, "race")                       # publish reads: no endpoint
    queues.put(pid, "race", {"url": "https://hooks.example.com/race"})   # the PUT: nothing held yet
    msg = deliveries.submit(messages._record(pid, queue_then, {"queue": "race", "payload": "{}", "delay": 0}))
    assert msg["state"] == "held" and dispatch_messages() == []
    assert reconcile_after(0) == {}
    assert reconcile_after(due.HELD_RECHECK + 1) == {"released": 1}
    assert [m["d"] for m in dispatch_messages()] == [msg["delivery_id"]]
    assert messages.get(pid, msg["delivery_id"])["state"] == "queued"


def test_a_message_held_on_a_queue_without_endpoint_stays_held_and_owes_nothing(aws, project):
    from chalicelib.core import due
    from chalicelib.services.queues import messages
    from .conftest import reconcile_after
    pid = project["project_id"]
    msg = messages.publish(pid, {"queue": "parked", "payload": {}}, None)
    assert reconcile_after(due.HELD_RECHECK + 1) == {"held": 1}
    assert reconcile_after(30 * 86400) == {}, "re-checked once, then nothing is owed until a PUT"
    assert messages.get(pid, msg["message_id"])["state"] == "held"


def test_a_keyed_publish_refused_inside_its_run_releases_the_key(api):
    """A request refused after its idempotency key was taken (here: over the trial's payload
    size, checked with the plan inside the run) leaves no answer behind: the same key then
    works for a corrected request instead of answering 409 or replaying the refusal."""
    big = {"queue": "sized", "payload": {"blob": "x" * (70 * 1024)}, "idempotency_key": "k-refused"}
    refused = api.call("POST", f"{Q}/publish", big)
    assert refused.status_code == 413
    fixed = api.call("POST", f"{Q}/publish", {**big, "payload": {"blob": "small"}})
    assert fixed.status_code == 202 and fixed.data["state"] == "held"


def test_a_keyed_publish_reused_with_another_body_to_a_new_queue_makes_no_queue(api):
    first = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "kept", "payload": {"n": 1}},
                     headers={"Idempotency-Key": "reused-1"})
    assert first.status_code == 202
    reused = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "never-made", "payload": {"n": 1}},
                      headers={"Idempotency-Key": "reused-1"})
    assert reused.status_code == 422 and reused.data["error"]["code"] == "idempotency_key_reused"
    assert api.call("GET", "/v1/scheduling/queue/never-made").status_code == 404
    again = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "kept", "payload": {"n": 1}},
                     headers={"Idempotency-Key": "reused-1"})
    assert again.status_code == 202 and again.data == first.data
