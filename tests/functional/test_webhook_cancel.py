"""Cancelling a webhook delivery not yet attempted (issue 24, item 6)."""
import json

from chalicelib.services.delivery import deliveries
from chalicelib.services.deliver import router

from .conftest import Api, drain

SEND = "/v1/scheduling/webhook/send"


def cancel(api, delivery_id):
    return api.call("POST", f"/v1/scheduling/webhook/deliveries/{delivery_id}/cancel")


def arrive(project_id, delivery_id):
    """Its first attempt's work arriving from SQS (moto holds a delayed message on real time)."""
    record = deliveries.get(project_id, delivery_id)
    router.process_batch([json.dumps(deliveries.first_work(record))])


def test_a_delayed_send_cancelled_sends_nothing(api, project, receiver):
    d = api.call("POST", SEND, {"url": receiver.url("/later"), "payload": {"a": 1}, "delay_seconds": 600}).data
    resp = cancel(api, d["delivery_id"])
    assert resp.status_code == 200, resp.data
    assert resp.data["state"] == "cancelled" and resp.data["delivery_id"] == d["delivery_id"]
    arrive(project["project_id"], d["delivery_id"])
    drain()
    assert receiver.at("/later") == []
    got = api.call("GET", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}").data
    assert got["state"] == "cancelled" and got["attempts"] == []
    listed = api.call("GET", "/v1/scheduling/webhook/deliveries?state=cancelled").data["items"]
    assert [i["delivery_id"] for i in listed] == [d["delivery_id"]]
    again = cancel(api, d["delivery_id"])      # already cancelled: 409 naming its state
    assert again.status_code == 409 and again.data["error"]["code"] == "conflict"
    assert "cancelled" in again.data["error"]["message"]


def test_cancel_after_it_succeeded_is_409(api, receiver):
    d = api.call("POST", SEND, {"url": receiver.url("/now"), "payload": {}}).data
    drain()
    assert len(receiver.wait_for("/now", 1)) == 1
    resp = cancel(api, d["delivery_id"])
    assert resp.status_code == 409 and resp.data["error"]["code"] == "conflict"
    assert "succeeded" in resp.data["error"]["message"]
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}").data["state"] == "succeeded"


def test_another_projects_delivery_cannot_be_cancelled(client, api):
    from chalicelib.services.tenancy import projects
    d = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}, "delay_seconds": 600}).data
    other = Api(client, projects.create_project()["api_key"])
    assert cancel(other, d["delivery_id"]).status_code == 404
    assert cancel(other, "dlv_nope").status_code == 404
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}").data["state"] == "queued"


def test_cancel_with_an_idempotency_key_answers_the_same_twice(api):
    d = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}, "delay_seconds": 600}).data
    h = {"Idempotency-Key": "cancel-1"}
    first = api.call("POST", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}/cancel", headers=h)
    second = api.call("POST", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}/cancel", headers=h)
    assert first.status_code == second.status_code == 200
    assert first.data["state"] == second.data["state"] == "cancelled"


def test_an_attempt_recorded_between_the_read_and_the_write_wins(api, project, monkeypatch):
    """The cancel reads the record queued, then an attempt is recorded before its write: the
    write's condition (state and attempt_count = 0) fails, the attempt stands, the answer is 409."""
    from chalicelib.aws import store
    from chalicelib.services.webhooks import webhooks
    d = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}, "delay_seconds": 600}).data
    stale = deliveries.get(project["project_id"], d["delivery_id"])
    store.update(stale["pk"], stale["sk"], {"attempt_count": 1, "state": "retrying"})
    real_get, calls = deliveries.get, []

    def first_read_stale(*a, **kw):
        calls.append(a)
        return stale if len(calls) == 1 else real_get(*a, **kw)
    monkeypatch.setattr(webhooks.deliveries, "get", first_read_stale)
    resp = cancel(api, d["delivery_id"])
    assert resp.status_code == 409 and "retrying" in resp.data["error"]["message"]
    assert real_get(project["project_id"], d["delivery_id"])["state"] == "retrying"


def test_a_delivery_with_an_attempt_made_is_not_cancelled(api, project):
    from chalicelib.aws import store
    d = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}, "delay_seconds": 600}).data
    rec = deliveries.get(project["project_id"], d["delivery_id"])
    store.update(rec["pk"], rec["sk"], {"attempt_count": 1, "state": "waiting"})   # waiting after an attempt
    resp = cancel(api, d["delivery_id"])
    assert resp.status_code == 409 and "waiting" in resp.data["error"]["message"]


def test_a_send_held_by_an_open_breaker_cancelled_is_never_sent(api, project, receiver, monkeypatch, offset):
    """Held with no attempt (its endpoint's breaker open): cancelled, it leaves the endpoint's
    held list, so neither the probe nor the release after recovery sends it."""
    from chalicelib.services.repair import reconciler
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    pid = project["project_id"]
    receiver.script("/ep", [500])
    cfg = {"failures": 1, "min_seconds": 0, "probe_seconds": 60}
    api.call("POST", SEND, {"url": receiver.url("/ep"), "payload": {"a": 1}, "retries": 0, "circuit_breaker": cfg})
    drain()                                            # it fails: the breaker opens
    held = api.call("POST", SEND, {"url": receiver.url("/ep"), "payload": {"b": 2}, "retries": 3,
                                   "circuit_breaker": cfg}).data["delivery_id"]
    drain()
    rec = deliveries.get(pid, held)
    assert rec["state"] == "held" and rec["attempt_count"] == 0
    resp = cancel(api, held)
    assert resp.status_code == 200 and resp.data["state"] == "cancelled", resp.data
    receiver.script("/ep", [200])
    offset[0] = 61                                     # the probe period passes
    reconciler.run()
    drain()
    offset[0] = 3600
    reconciler.run()
    drain()
    assert deliveries.get(pid, held)["state"] == "cancelled"
    assert [json.loads(a.body) for a in receiver.at("/ep")] == [{"a": 1}]
