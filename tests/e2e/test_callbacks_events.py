"""Callbacks and operational events through the local stack (issue 15): what a user's receiver
sees, each POST verified with the `standardwebhooks` package."""
SEND = "/v1/scheduling/webhook/send"
EVENTS = "/v1/scheduling/events"


def test_a_failure_callback_and_the_delivery_failed_event_arrive_signed_after_the_last_retry(
        api, receiver, path):
    receiver.script(path, [500])
    assert api.put(EVENTS, {"url": receiver.url(path + "/events")}).status_code == 200
    try:
        d = api.post(SEND, {"url": receiver.url(path), "payload": {"n": 1}, "retries": 2, "retry_schedule": [1, 1],
                            "failure_callback_url": receiver.url(path + "/failed"),
                            "callback_url": receiver.url(path + "/ok")}).json()
        [callback] = receiver.wait_for(path + "/failed", 1, timeout=30)
        events = receiver.wait_for(path + "/events", 1, timeout=30)
    finally:
        api.delete(EVENTS)
    attempts = receiver.at(path)
    assert len(attempts) == 3 and callback.at > attempts[-1].at      # after the last retry
    assert callback.verified and callback.json["type"] == "delivery.failed"
    data = callback.json["data"]
    assert data["delivery_id"] == d["delivery_id"] and data["attempt_count"] == 3
    assert data["last_attempt"]["status_code"] == 500 and data["url"] == receiver.url(path)
    [event] = [e for e in events if e.json["data"]["delivery_id"] == d["delivery_id"]]
    assert event.verified and event.json["type"] == "delivery.failed" and event.json["data"] == data
    assert receiver.at(path + "/ok") == []
    record = api.wait_state(callback.headers["webhook-id"], {"succeeded"})
    assert record["state"] == "succeeded"                               # the callback is a delivery too


def test_a_success_callback_arrives_signed(api, receiver, path):
    d = api.post(SEND, {"url": receiver.url(path), "payload": {"n": 2},
                        "callback_url": receiver.url(path + "/ok")}).json()
    [callback] = receiver.wait_for(path + "/ok", 1, timeout=30)
    assert callback.verified and callback.json["type"] == "delivery.succeeded"
    assert callback.json["data"]["delivery_id"] == d["delivery_id"]
    assert callback.json["data"]["last_attempt"]["status_code"] == 200
    assert callback.headers["webhook-id"] != d["delivery_id"]
