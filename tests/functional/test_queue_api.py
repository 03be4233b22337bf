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


@pytest.mark.parametrize("delay", [901, 86400, 365 * 24 * 3600])
def test_long_delays_hop_and_are_never_early_on_an_injected_clock(aws, project, monkeypatch, delay):
    """Each hop waits at most SQS's 900 s and the last one exactly the rest. For a year's delay
    the ~35,000 identical middle hops are skipped by moving the clock (the message is the same)."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.aws import dispatch
    from chalicelib.core import clock
    from chalicelib.services import attempts, messages, queues
    start = 1_800_000_000.25
    t = [start]
    monkeypatch.setattr(clock, "_now", lambda: t[0])
    pid = project["project_id"]
    queues.put(pid, "slow", {"url": "https://hooks.example.com/slow"})
    sent = []
    monkeypatch.setattr(dispatch, "enqueue", lambda work, wait=0.0: sent.append((work, wait)))
    msg = messages.publish(pid, {"queue": "slow", "payload": {"a": 1}, "delay_seconds": delay}, None)
    ok = sender.AttemptResult(status=200, duration_ms=1, error=None, excerpt="", retry_after=None)
    hops, arrived = 0, None
    with mock.patch.object(sender, "post", return_value=ok) as post:
        while sent:
            work, wait = sent.pop(0)
            hop = dispatch.hop_delay(wait)
            assert 0 <= hop <= 900
            t[0] += hop                                  # SQS holds it that long (whole seconds)
            if hops == 5 and start + delay - t[0] > 3600:
                t[0] += (start + delay - t[0] - 1800) // 900 * 900   # skip identical middle hops
            attempts.process_batch([json.dumps(work)])
            hops += 1
            if post.call_count and arrived is None:
                arrived = t[0]
    assert post.call_count == 1 and msg["state"] == "queued"
    assert arrived >= start + delay, "never early"
    assert arrived - (start + delay) < 1.0, "late only by the rounding of the last hop to a second"


def test_a_failed_idempotent_publish_can_be_retried_with_the_same_key(api, monkeypatch):
    """The key is released when the request fails (503), so the client's retry goes through."""
    from chalicelib.aws import dispatch
    api.call("PUT", f"{Q}/iq2", {"url": "https://hooks.example.com/iq2"})
    body = {"queue": "iq2", "payload": {"a": 1}, "idempotency_key": "k-2"}
    real = dispatch.enqueue

    def down(*a, **k):
        raise RuntimeError("SQS is down")
    monkeypatch.setattr(dispatch, "enqueue", down)
    assert api.call("POST", f"{Q}/publish", body).status_code == 503
    monkeypatch.setattr(dispatch, "enqueue", real)
    resp = api.call("POST", f"{Q}/publish", body)
    assert resp.status_code == 202 and resp.data["state"] == "queued"
    assert len(stored_messages()) == 1


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


def test_a_hop_chain_forked_by_a_failed_batch_still_sends_once(aws, project, monkeypatch):
    """A batch fails after one of its not-yet-due messages re-queued its next hop: SQS redelivers
    the message, which hops again, and two copies travel to the due time. Only one may send; the
    one that claimed may send again if it crashes before recording (same SQS message id)."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.aws import dispatch
    from chalicelib.core import clock
    from chalicelib.services import attempts, messages, queues
    t = [1_800_000_000.0]
    monkeypatch.setattr(clock, "_now", lambda: t[0])
    pid = project["project_id"]
    queues.put(pid, "far", {"url": "https://hooks.example.com/far"})
    sent = []
    monkeypatch.setattr(dispatch, "enqueue", lambda work, wait=0.0: sent.append(work))
    messages.publish(pid, {"queue": "far", "payload": {}, "delay_seconds": 1500}, None)
    first = sent.pop()
    t[0] += 900
    attempts.process_batch([json.dumps(first)], message_ids=["m-1"])
    attempts.process_batch([json.dumps(first)], message_ids=["m-1"])    # redelivered: forks
    copy_a, copy_b = sent
    assert copy_a == copy_b and copy_a.get("h") == 1
    t[0] += 600
    ok = sender.AttemptResult(status=200, duration_ms=1, error=None, excerpt="", retry_after=None)
    with mock.patch.object(sender, "post", side_effect=[RuntimeError("crash before the send"), ok, ok]) as post:
        with pytest.raises(RuntimeError):
            attempts.process_batch([json.dumps(copy_a)], message_ids=["m-a"])          # claims, crashes
        out = attempts.process_batch([json.dumps(copy_b), json.dumps(copy_a)], message_ids=["m-b", "m-a"])
    assert out["outcomes"] == ["duplicate hop", "succeeded"]
    assert post.call_count == 2, "the crashed try and its redelivery; the forked copy sent nothing"
