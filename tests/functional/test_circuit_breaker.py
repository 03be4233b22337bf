"""Circuit breaker per endpoint (issue 15): a failing endpoint's deliveries are held, not failed
or dropped; one probe per period; the first success releases them; 5 days of failure needs a
release by hand. The state machine runs on an injected clock; the deliver path on moto with a
real receiver."""
import pytest

from chalicelib.aws import keys, store
from chalicelib.core import breaker, due
from chalicelib.services.delivery import deliveries
from chalicelib.services.queues import queues
from chalicelib.services.receivers import circuit_breaker, endpoints, holding
from chalicelib.services.repair import reconciler

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
    b = circuit_breaker.Breaker("proj_t", "https://h.example.com/in?k=1", CFG, None, "queues", "q")
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
    b = circuit_breaker.Breaker("proj_t", "https://h.example.com/in", CFG, None, "queues", "q")
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


W = "/v1/scheduling/webhook/send"
TRIP = {"failures": 3, "min_seconds": 0, "probe_seconds": 60}


def test_webhook_sends_and_cron_runs_to_a_dead_endpoint_are_held_then_all_delivered_once(
        api, project, receiver, offset, monkeypatch):
    """The breaker is per endpoint, whatever sends to it: a webhook send, a cron run and a queue
    message to one URL (their queries differ) share it; another endpoint's held sends stay held."""
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    pid = project["project_id"]
    shared = ("/shared", "/shared?from=cron", "/shared?from=queue")   # one endpoint: the query is not part of it
    for path in shared:
        receiver.script(path, [500])
    receiver.script("/other", [500])
    at_shared = lambda: [a for p in shared for a in receiver.at(p)]   # noqa: E731
    first = [api.call("POST", W, {"url": receiver.url("/shared"), "payload": {"i": i}, "retries": 10,
                                  "circuit_breaker": TRIP}).data["delivery_id"] for i in range(3)]
    elsewhere = [api.call("POST", W, {"url": receiver.url("/other"), "payload": {"o": i}, "retries": 10,
                                      "circuit_breaker": {"failures": 1, "min_seconds": 0, "probe_seconds": 3600}}
                          ).data["delivery_id"] for i in range(2)]
    drain()
    sent, other_sent = len(at_shared()), len(receiver.at("/other"))
    job = api.call("POST", "/v1/scheduling/cron", {"name": "nightly", "schedule": "0 3 * * *",
                                                   "url": receiver.url("/shared?from=cron"), "payload": {"c": 1}}).data
    assert job["circuit_breaker"] == {"failures": 20, "min_seconds": 300, "probe_seconds": 300}
    api.call("PUT", f"{Q}/shared", {"url": receiver.url("/shared?from=queue")})
    later = [api.call("POST", W, {"url": receiver.url("/shared"), "payload": {"i": i}}).data["delivery_id"] for i in range(3, 5)]
    run = api.call("POST", f"/v1/scheduling/cron/{job['cron_id']}/trigger").data["delivery_id"]
    msg = api.call("POST", f"{Q}/publish", {"queue": "shared", "payload": {"q": 1}}).data["message_id"]
    drain()
    assert len(at_shared()) == sent, "nothing more is sent to an open endpoint, whoever sends"
    for i in later + [run, msg]:
        d = deliveries.get(pid, i)
        assert d["state"] == "held" and d["attempt_count"] == 0, d
    assert {deliveries.get(pid, i)["state"] for i in first} == {"held"}, "held, not failed, not retried"
    eps = {e["url"]: e for e in api.call("GET", "/v1/scheduling/endpoints").data["items"]}
    ep = eps[receiver.url("/shared")]
    assert ep["state"] == "open" and ep["sources"] == ["cron", "webhook"] and ep["queues"] == ["shared"]
    assert ep["counts"]["held"] == 7, ep     # 3 first sends + 2 later + the cron run + the queue message
    assert eps[receiver.url("/other")]["counts"]["held"] == 2
    shown = api.call("GET", f"/v1/scheduling/webhook/deliveries/{first[0]}").data   # a delivery shows the breaker it chose
    assert shown["circuit_breaker"] == TRIP and "circuit_breaker" not in api.call(
        "GET", f"/v1/scheduling/webhook/deliveries/{later[0]}").data

    for path in shared:
        receiver.script(path, [200])   # it recovers; the next probe finds out
    offset[0] = 61
    for _ in range(6):
        reconciler.run()
        drain()
    assert {deliveries.get(pid, i)["state"] for i in first + later + [run, msg]} == {"succeeded"}
    arrivals = sorted(at_shared(), key=lambda a: a.at)[sent:]
    assert len(arrivals) == 7 and len({a.headers["webhook-id"] for a in arrivals}) == 7, "each once"
    assert all(a.verified for a in arrivals)
    other = [deliveries.get(pid, i) for i in elsewhere]
    assert {d["state"] for d in other} == {"held"}, "another endpoint's stay held"
    assert len(receiver.at("/other")) == other_sent == sum(d["attempt_count"] for d in other), "and are not sent"
    eps = {e["url"]: e for e in api.call("GET", "/v1/scheduling/endpoints").data["items"]}
    assert eps[receiver.url("/other")]["state"] == "open" and eps[receiver.url("/other")]["counts"]["held"] == 2
    assert eps[receiver.url("/shared")]["state"] == "closed" and eps[receiver.url("/shared")]["counts"]["held"] == 0


def test_a_send_or_job_can_set_or_turn_off_its_breaker_and_bad_settings_change_nothing(api, project, receiver):
    bad = api.call("POST", W, {"url": "https://h.example.com/x", "payload": {}, "circuit_breaker": {"failures": 0}})
    assert bad.status_code == 400 and bad.data["error"]["field"] == "circuit_breaker.failures"
    assert api.call("GET", "/v1/scheduling/webhook/deliveries").data["items"] == [], "nothing was sent"
    on_queue = api.call("POST", "/v1/scheduling/cron", {"name": "q", "schedule": "0 3 * * *", "queue": "jobs",
                                                        "circuit_breaker": TRIP})
    assert on_queue.status_code == 400 and on_queue.data["error"]["field"] == "circuit_breaker"
    assert api.call("GET", "/v1/scheduling/cron").data["items"] == []
    job = api.call("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 3 * * *",
                                                   "url": "https://h.example.com/j", "circuit_breaker": None}).data
    assert job["circuit_breaker"] is None
    patched = api.call("PATCH", f"/v1/scheduling/cron/{job['cron_id']}", {"circuit_breaker": {"failures": 5}}).data
    assert patched["circuit_breaker"] == {"failures": 5, "min_seconds": 300, "probe_seconds": 300}
    assert api.call("PATCH", f"/v1/scheduling/cron/{job['cron_id']}", {"name": "k"}).data["circuit_breaker"][
        "failures"] == 5, "a PATCH of another field keeps it"
    moved = api.call("PATCH", f"/v1/scheduling/cron/{job['cron_id']}", {"queue": "jobs"})
    assert moved.status_code == 200 and moved.data["queue"] == "jobs" and "circuit_breaker" not in moved.data
    back = api.call("PATCH", f"/v1/scheduling/cron/{job['cron_id']}", {"url": "https://h.example.com/j"}).data
    assert back["circuit_breaker"] == {"failures": 20, "min_seconds": 300, "probe_seconds": 300}, "the defaults again"


def test_a_send_with_its_breaker_off_is_never_held(api, project, receiver, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    pid = project["project_id"]
    receiver.script("/off", [500])
    tripping = [api.call("POST", W, {"url": receiver.url("/off"), "payload": {"i": i}, "retries": 3,
                                     "circuit_breaker": {**TRIP, "failures": 1}}).data["delivery_id"] for i in range(2)]
    drain()
    own = api.call("POST", W, {"url": receiver.url("/off"), "payload": {"own": 1}, "retries": 2,
                               "circuit_breaker": None}).data["delivery_id"]
    drain()
    d = deliveries.get(pid, own)
    assert d["state"] == "failed" and d["attempt_count"] == 3, "its own retries, the open breaker ignored"
    assert "held" in {deliveries.get(pid, i)["state"] for i in tripping}


def test_a_large_release_of_held_sends_continues_through_release_tasks(api, project, receiver, offset, monkeypatch):
    """Pages of 2, one page per step: the endpoint's held sends, interleaved with another
    endpoint's in the project's one held partition: the probe finds the endpoint's oldest held
    send however many of the other's come before it; its success releases the rest through a
    chain of release tasks; the other's stay; the chain's last step drops the endpoint's marker."""
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    monkeypatch.setattr(holding, "RELEASE_PAGE", 2)
    monkeypatch.setattr(endpoints, "RELEASE_PAGES", 1)
    pid = project["project_id"]
    receiver.script("/many", [500])
    receiver.script("/else", [500])
    cfg = {"failures": 1, "min_seconds": 0, "probe_seconds": 3600}
    ids, others = [], []
    for i in range(10):   # within the trial plan's deliveries per day; the other endpoint's come first
        url, into = (receiver.url("/else"), others) if i < 5 else (receiver.url("/many"), ids)
        into.append(api.call("POST", W, {"url": url, "payload": {"i": i}, "retries": 10,
                                         "circuit_breaker": cfg}).data["delivery_id"])
    drain()
    eps = {e["url"]: e for e in api.call("GET", "/v1/scheduling/endpoints").data["items"]}
    ep = eps[receiver.url("/many")]
    assert ep["state"] == "open" and ep["counts"]["held"] == 5 and eps[receiver.url("/else")]["counts"]["held"] == 5
    receiver.script("/many", [200])
    offset[0] = 3601   # both probes are due; /else's fails again, /many's succeeds and releases the rest
    reconciler.run()
    drain()
    assert {deliveries.get(pid, i)["state"] for i in ids} == {"succeeded"}
    assert {deliveries.get(pid, i)["state"] for i in others} == {"held"}
    assert "due" not in store.get(*keys.endpoint(ep["endpoint_id"])), "the chain's last step dropped the marker"
