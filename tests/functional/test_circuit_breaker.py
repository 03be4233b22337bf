"""Circuit breaker per endpoint (issue 15): a failing endpoint's deliveries are held, not failed
or dropped; one probe per period; the first success releases them; 5 days of failure needs a
release by hand. The state machine runs on an injected clock; the deliver path on moto with a
real receiver."""
import pytest

from chalicelib.aws import store
from chalicelib.core import breaker, due
from chalicelib.services import circuit_breaker, deliveries, endpoints, queues, reconciler

from .conftest import T0, drain

Q = "/v1/scheduling/queue"
CFG = {"failures": 3, "min_seconds": 10, "probe_seconds": 60}


@pytest.mark.parametrize("value,field", [
    ({"failures": 0}, "circuit_breaker.failures"),
    ({"failures": 1001}, "circuit_breaker.failures"),
    ({"min_seconds": -1}, "circuit_breaker.min_seconds"),
    ({"min_seconds": 86401}, "circuit_breaker.min_seconds"),
    ({"probe_seconds": 0}, "circuit_breaker.probe_seconds"),
    ({"probe_seconds": 2.5}, "circuit_breaker.probe_seconds"),
    ({"tries": 3}, "circuit_breaker"),
    (True, "circuit_breaker"),
])
def test_breaker_settings_out_of_bounds_are_refused(api, value, field):
    resp = api.call("PUT", f"{Q}/cb", {"url": "https://hooks.example.com/x", "circuit_breaker": value})
    assert resp.status_code == 400 and resp.data["error"]["field"] == field, resp.data
    assert api.call("GET", f"{Q}/cb").status_code == 404, "nothing was made"


def test_the_breaker_is_on_by_default_settable_and_can_be_turned_off(api):
    made = api.call("PUT", f"{Q}/cb", {"url": "https://hooks.example.com/x"}).data
    assert made["circuit_breaker"] == {"failures": 20, "min_seconds": 300, "probe_seconds": 300}
    part = api.call("PUT", f"{Q}/cb", {"circuit_breaker": {"failures": 5}}).data
    assert part["circuit_breaker"] == {"failures": 5, "min_seconds": 300, "probe_seconds": 300}
    assert api.call("PUT", f"{Q}/cb", {"circuit_breaker": None}).data["circuit_breaker"] is None
    assert api.call("GET", f"{Q}/cb").data["circuit_breaker"] is None
    assert api.call("PUT", f"{Q}/cb", {"circuit_breaker": {}}).data["circuit_breaker"]["failures"] == 20


def test_an_endpoint_is_its_url_without_the_query():
    a = breaker.endpoint_of("https://API.example.com/hook?x=1#f")
    assert a == breaker.endpoint_of("https://api.example.com/hook?y=2") == "https://api.example.com/hook"
    assert breaker.endpoint_id("p1", a) != breaker.endpoint_id("p2", a)


def _fresh(b):
    b.item = store.get(b.pk, b.sk)
    return b


def test_the_state_machine_trips_probes_and_closes(aws, fake_time):
    b = circuit_breaker.Breaker("proj_t", "https://h.example.com/in?k=1", CFG, None, "q")
    for _ in range(3):   # three failures within 10 s: not yet (they must span min_seconds)
        circuit_breaker.observe(_fresh(b), False, "HTTP 500")
        fake_time[0] += 2
    assert _fresh(b).item["state"] == "closed" and b.item["fails"] == 3
    fake_time[0] = T0 + 10
    circuit_breaker.observe(_fresh(b), False, "HTTP 500")
    item = _fresh(b).item
    assert item["state"] == "open" and item["probe_at"] == T0 + 70
    assert item["due"] == due.PROBE and item["gsi3sk"] == due.sort_key(T0 + 70)
    assert not circuit_breaker.allows(b), "held until the probe is due"
    fake_time[0] = T0 + 70
    assert circuit_breaker.allows(_fresh(b)) is True, "the probe"
    assert circuit_breaker.allows(b) is False, "one probe per period, even to a twin that read the same state"
    circuit_breaker.observe(_fresh(b), False, "timeout")      # the probe failed: still open
    assert _fresh(b).item["state"] == "open" and b.item["probe_at"] == T0 + 130
    closed = circuit_breaker.observe(_fresh(b), True)          # a success: closed, its release owed
    assert closed["state"] == "closed" and closed["fails"] == 0 and closed["due"] == due.RELEASE
    assert circuit_breaker.allows(_fresh(b)) is True


def test_after_five_days_of_failure_it_stays_held_until_released_by_hand(aws, fake_time):
    b = circuit_breaker.Breaker("proj_t", "https://h.example.com/in", CFG, None, "q")
    for step in range(4):
        fake_time[0] = T0 + step * 5
        circuit_breaker.observe(_fresh(b), False)
    assert _fresh(b).item["state"] == "open"
    fake_time[0] = T0 + breaker.DISABLE_AFTER + 1
    circuit_breaker.observe(_fresh(b), False)
    item = _fresh(b).item
    assert item["state"] == "disabled" and "gsi3sk" not in item, "no more probes"
    fake_time[0] += 10 * 86400
    assert circuit_breaker.allows(_fresh(b)) is False
    assert circuit_breaker.close(item, by_hand=True)["state"] == "closed"


def test_a_dead_endpoint_holds_its_messages_and_releases_them_all_after_it_recovers(
        api, project, receiver, offset, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")   # retries due at once
    pid = project["project_id"]
    assert api.call("PUT", "/v1/scheduling/events", {"url": receiver.url("/ops")}).status_code == 200
    path = "/dead?token=abc"
    receiver.script(path, [500])
    url = receiver.url(path)
    api.call("PUT", f"{Q}/cbq", {"url": url, "retries": 10,
                                 "circuit_breaker": {"failures": 3, "min_seconds": 0, "probe_seconds": 60}})
    ids = [api.call("POST", f"{Q}/publish", {"queue": "cbq", "payload": {"i": i}}).data["message_id"] for i in range(3)]
    drain()
    before = len(receiver.at(path))
    later = [api.call("POST", f"{Q}/publish", {"queue": "cbq", "payload": {"i": i}}).data["message_id"]
             for i in range(3, 6)]
    drain()
    assert len(receiver.at(path)) == before, "nothing more is sent to an open endpoint"
    states = [deliveries.get(pid, i) for i in ids + later]
    assert "failed" not in {s["state"] for s in states}
    assert {s["state"] for s in states[3:]} == {"held"} and {s["attempt_count"] for s in states[3:]} == {0}
    [ep] = api.call("GET", "/v1/scheduling/endpoints").data["items"]
    assert ep["state"] == "open" and ep["url"] == receiver.url("/dead") and ep["queues"] == ["cbq"]
    assert ep["counts"]["held"] >= 3 and ep["consecutive_failures"] >= 3
    receiver.script(path, [200])       # it recovers; the next probe finds out
    offset[0] = 61
    reconciler.run()
    for _ in range(5):
        drain()
        reconciler.run()
    done = [deliveries.get(pid, i) for i in ids + later]
    assert {d["state"] for d in done} == {"succeeded"}, [d["state"] for d in done]
    assert api.call("GET", "/v1/scheduling/endpoints").data["items"][0]["state"] == "closed"
    told = [(a.json["type"], a.json["data"]["endpoint_id"]) for a in receiver.at("/ops") if a.verified]
    assert told == [("endpoint.held", ep["endpoint_id"]), ("endpoint.released", ep["endpoint_id"])], told
    offset[0] = 30 * 86400
    assert reconciler.run() == {}, "nothing owed"


def test_an_endpoint_is_released_by_hand(api, project, receiver, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    pid = project["project_id"]
    receiver.script("/hand", [500])
    api.call("PUT", f"{Q}/h", {"url": receiver.url("/hand"), "retries": 5,
                               "circuit_breaker": {"failures": 2, "min_seconds": 0, "probe_seconds": 3600}})
    ids = [api.call("POST", f"{Q}/publish", {"queue": "h", "payload": {"i": i}}).data["message_id"] for i in range(4)]
    drain()
    [ep] = api.call("GET", "/v1/scheduling/endpoints").data["items"]
    assert ep["state"] == "open"
    receiver.script("/hand", [200])
    released = api.call("POST", f"/v1/scheduling/endpoints/{ep['endpoint_id']}/release")
    assert released.status_code == 200 and released.data["state"] == "closed"
    drain()
    assert {deliveries.get(pid, i)["state"] for i in ids} == {"succeeded"}
    again = api.call("POST", f"/v1/scheduling/endpoints/{ep['endpoint_id']}/release")
    assert again.status_code == 409
    assert api.call("POST", "/v1/scheduling/endpoints/ep_nope/release").status_code == 404
    assert endpoints.held_count(endpoints.load(pid, ep["endpoint_id"])) == 0
    assert queues.get(pid, "h")["counts"]["held"] == 0
