"""Webhooks through the whole local stack, as a user sees them."""
import json
import time

SEND = "/v1/scheduling/webhook/send"


def send(api, url, payload=None, **options):
    resp = api.post(SEND, {"url": url, "payload": payload or {"hello": "world"}, **options})
    assert resp.status_code == 202, resp.text
    return resp.json()


def test_first_try_success_is_signed_and_recorded(api, receiver, path):
    d = send(api, receiver.url(path), {"order_id": "ord_42", "status": "paid"},
             headers={"x-tenant": "acme"})
    [arrival] = receiver.wait_for(path, 1)
    assert arrival.verified, "signature must verify with the standardwebhooks package"
    assert arrival.json == {"order_id": "ord_42", "status": "paid"}
    assert arrival.headers["webhook-id"] == d["delivery_id"]
    assert arrival.headers["x-tenant"] == "acme"
    assert arrival.headers["content-type"] == "application/json"
    record = api.wait_state(d["delivery_id"], {"succeeded"})
    assert record["state"] == "succeeded" and record["attempt_count"] == 1
    [attempt] = record["attempts"]
    assert attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["response_excerpt"] == '{"ok": true}' and attempt["duration_ms"] >= 0


def test_fail_twice_then_succeed_keeps_the_webhook_id(api, receiver, path):
    receiver.script(path, [500, 503, 200])
    d = send(api, receiver.url(path))
    arrivals = receiver.wait_for(path, 3, timeout=30)
    record = api.wait_state(d["delivery_id"], {"succeeded"})
    assert len(arrivals) == 3 and all(a.verified for a in arrivals)
    assert {a.headers["webhook-id"] for a in arrivals} == {d["delivery_id"]}
    stamps = [int(a.headers["webhook-timestamp"]) for a in arrivals]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3, "each attempt is signed anew"
    assert record["state"] == "succeeded"
    assert [a["status_code"] for a in record["attempts"]] == [500, 503, 200]
    assert [a["attempt"] for a in record["attempts"]] == [1, 2, 3]


def test_always_failing_ends_failed_in_the_dlq_and_replay_works(api, receiver, path, stack):
    from chalicelib.aws import clients, dispatch
    receiver.script(path, [500])
    d = send(api, receiver.url(path), retries=1)
    record = api.wait_state(d["delivery_id"], {"failed"})
    assert record["state"] == "failed" and record["attempt_count"] == 2
    assert len(receiver.at(path)) == 2
    notices, deadline = set(), time.time() + 30     # the notice follows the failed record
    while d["delivery_id"] not in notices and time.time() < deadline:
        dlq = clients.sqs().receive_message(QueueUrl=dispatch.dead_letter_queue_url(),
                                            MaxNumberOfMessages=10, VisibilityTimeout=0)
        notices |= {json.loads(m["Body"]).get("delivery_id") for m in dlq.get("Messages", [])}
    assert d["delivery_id"] in notices
    failed = api.get("/v1/scheduling/webhook/deliveries?state=failed&limit=100").json()["items"]
    assert d["delivery_id"] in [i["delivery_id"] for i in failed]

    receiver.script(path, [200])
    resp = api.post(f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}/retry")
    assert resp.status_code == 202 and resp.json()["state"] == "queued"
    record = api.wait_state(d["delivery_id"], {"succeeded"})
    assert record["state"] == "succeeded" and record["attempt_count"] == 3
    arrivals = receiver.at(path)
    assert len(arrivals) == 3 and {a.headers["webhook-id"] for a in arrivals} == {d["delivery_id"]}
    again = api.post(f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}/retry")
    assert again.status_code == 409


def test_retry_after_is_respected(api, receiver, path):
    receiver.script(path, [(503, {"Retry-After": "3"}), 200])
    d = send(api, receiver.url(path))
    first, second = receiver.wait_for(path, 2, timeout=30)
    assert second.at - first.at >= 3.0, "must wait at least what Retry-After asked"
    assert api.wait_state(d["delivery_id"], {"succeeded"})["state"] == "succeeded"


def test_410_gone_stops_at_once(api, receiver, path):
    receiver.script(path, [410])
    d = send(api, receiver.url(path), retries=5)
    record = api.wait_state(d["delivery_id"], {"failed"})
    time.sleep(2.5)  # longer than the retry gap in this suite: a retry would have arrived
    assert record["state"] == "failed" and record["attempt_count"] == 1
    assert len(receiver.at(path)) == 1


def test_a_delay_is_never_early(api, receiver, path):
    sent = time.time()
    d = send(api, receiver.url(path), delay_seconds=3)
    assert d["state"] == "queued"
    [arrival] = receiver.wait_for(path, 1, timeout=30)
    assert arrival.at - sent >= 3.0
    assert arrival.at - sent < 3.0 + 5.0


def test_timeouts_and_closed_connections_are_recorded_and_retried(api, receiver, path):
    receiver.script(path, [("sleep", 3), "close", 200])
    d = send(api, receiver.url(path), timeout_seconds=1)
    record = api.wait_state(d["delivery_id"], {"succeeded"}, timeout=40)
    assert record["state"] == "succeeded"
    first, second, third = record["attempts"]
    assert first["status_code"] is None and "timeout" in first["error"]
    assert second["status_code"] is None and second["error"]
    assert third["status_code"] == 200


def test_after_a_rotation_receivers_with_either_secret_verify(api, receiver, path):
    from standardwebhooks.webhooks import Webhook
    old = api.get("/v1/scheduling/webhook/secret").json()["secret"]
    rotated = api.post("/v1/scheduling/webhook/secret/rotate")
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    send(api, receiver.url(path))
    [arrival] = receiver.wait_for(path, 1)
    assert len(arrival.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(arrival.body, arrival.headers) == arrival.json
