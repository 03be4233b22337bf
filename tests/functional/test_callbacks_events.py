"""Callbacks, operational events and retry schedules (issue 15), through the API, with attempts
made to a real receiver on 127.0.0.1 that verifies every signature with `standardwebhooks`."""
import json
import math

import pytest

from chalicelib.aws import keys, store
from chalicelib.core import clock, retry_policy
from chalicelib.services.notices import events
from chalicelib.services.replays import replays
from chalicelib.services.tenancy import projects

from .conftest import drain, reconcile_after

EVENTS = "/v1/scheduling/events"
SEND = "/v1/scheduling/webhook/send"
LIST = "/v1/scheduling/deliveries"


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")   # the stage's default: retries due at once


def arrivals(receiver, path):
    return [a for a in receiver.arrivals if a.path == path]


def kinds(api, kind):
    resp = api.call("GET", f"{LIST}?kind={kind}")
    assert resp.status_code == 200, resp.data
    return resp.data["items"]


# -- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule,why", [
    ("fast", "must be 'svix', 'exponential'"), ([], "list of 1 to 30"), (list(range(31)), "list of 1 to 30"),
    ([10, -1], "[1]' must be a whole number"), ([1.5], "whole number"), ([True], "whole number"),
    ([86400] * 8, "at most 604800 s"), ({"gaps": [1]}, "list of 1 to 30"),
])
def test_a_bad_retry_schedule_is_refused_clearly_everywhere_and_stores_nothing(api, schedule, why):
    for method, path, body in (
            ("POST", SEND, {"url": "https://example.com/h", "payload": {}, "retry_schedule": schedule}),
            ("PUT", "/v1/scheduling/queue/q1", {"retry_schedule": schedule}),
            ("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *", "url": "https://example.com/h",
                                             "retry_schedule": schedule})):
        resp = api.call(method, path, body)
        assert resp.status_code == 400, (path, resp.data)
        assert resp.data["error"]["field"] == "retry_schedule" and why in resp.data["error"]["message"], resp.data
    assert kinds(api, "webhook") == []
    assert api.call("GET", "/v1/scheduling/queue").data["items"] == []
    assert api.call("GET", "/v1/scheduling/cron").data["items"] == []


def test_good_retry_schedules_are_kept_and_shown(api):
    q = api.call("PUT", "/v1/scheduling/queue/q1", {"url": "https://example.com/q", "retry_schedule": "exponential"})
    assert q.status_code == 200 and q.data["retry_schedule"] == "exponential"
    q = api.call("PUT", "/v1/scheduling/queue/q1", {"retry_schedule": None})
    assert q.data["retry_schedule"] is None                      # back to the default
    job = api.call("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *", "url": "https://example.com/h",
                                                   "retry_schedule": [30, 60.0, 600]}).data
    assert job["retry_schedule"] == [30, 60, 600]
    assert api.call("PATCH", f"/v1/scheduling/cron/{job['cron_id']}", {"retry_schedule": "svix"}).data[
        "retry_schedule"] == "svix"
    d = api.call("POST", SEND, {"url": "https://example.com/h", "payload": {}, "retry_schedule": [0] * 30})
    assert d.status_code == 202 and d.data["retry_schedule"] == [0] * 30


@pytest.mark.parametrize("field", ["callback_url", "failure_callback_url"])
def test_a_bad_callback_url_is_refused_on_every_source(api, field):
    for method, path, body in (
            ("POST", SEND, {"url": "https://example.com/h", "payload": {}, field: "ftp://example.com/x"}),
            ("POST", "/v1/scheduling/queue/publish", {"queue": "q", "payload": {}, field: 42}),
            ("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *", "url": "https://example.com/h",
                                             field: "not a url"})):
        resp = api.call(method, path, body)
        assert resp.status_code == 400 and resp.data["error"]["field"] == field, (path, resp.data)
    batch = api.call("POST", "/v1/scheduling/queue/publish-batch", {"messages": [
        {"queue": "q", "payload": {}, field: "http://"}, {"queue": "q", "payload": {}}]}).data
    assert batch["accepted"] == 1 and batch["results"][0]["error"]["field"] == field


def test_the_events_endpoint_is_set_read_and_removed_per_project(client, api, receiver):
    from .conftest import Api
    assert api.call("GET", EVENTS).data == {"url": None, "event_types": list(events.TYPES), "updated_at": None}
    for bad, field in (({"url": "javascript:alert(1)"}, "url"), ({}, "url"), ({"url": "https://e.com", "x": 1}, "x")):
        resp = api.call("PUT", EVENTS, bad)
        assert resp.status_code == 400 and resp.data["error"]["field"] == field, resp.data
    put = api.call("PUT", EVENTS, {"url": receiver.url("/events")})
    assert put.status_code == 200 and put.data["url"] == receiver.url("/events")
    assert api.call("GET", EVENTS).data["url"] == receiver.url("/events")
    other = Api(client, projects.create_project()["api_key"])
    assert other.call("GET", EVENTS).data["url"] is None          # another project sees nothing of it
    assert api.call("DELETE", EVENTS).data["url"] is None
    assert api.call("GET", EVENTS).data["url"] is None


# -- callbacks and events ---------------------------------------------------------------------

def test_a_failure_callback_and_a_delivery_failed_event_arrive_signed_after_the_last_retry(
        api, receiver, fast):
    receiver.script("/down", [(500, {}), 503])
    api.call("PUT", EVENTS, {"url": receiver.url("/events")})
    d = api.call("POST", SEND, {"url": receiver.url("/down"), "payload": {"n": 1}, "retries": 1,
                                "callback_url": receiver.url("/ok-cb"),
                                "failure_callback_url": receiver.url("/fail-cb")}).data
    drain()
    assert len(arrivals(receiver, "/down")) == 2
    assert arrivals(receiver, "/ok-cb") == []                   # it did not succeed
    [cb] = arrivals(receiver, "/fail-cb")
    [ev] = arrivals(receiver, "/events")
    assert cb.verified and ev.verified
    assert cb.at > arrivals(receiver, "/down")[-1].at            # after the last retry
    body = cb.json
    assert body["type"] == "delivery.failed" and body["timestamp"].endswith("Z")
    data = body["data"]
    assert data["delivery_id"] == d["delivery_id"] and data["kind"] == "webhook" and data["state"] == "failed"
    assert data["url"] == receiver.url("/down") and data["attempt_count"] == 2
    last = data["last_attempt"]
    assert last["attempt"] == 2 and last["status_code"] == 503 and last["duration_ms"] >= 0 and last["at"]
    assert ev.json["type"] == "delivery.failed" and ev.json["data"] == data
    assert ev.headers["webhook-id"].startswith("evt_") and ev.headers["infrai-event-type"] == "delivery.failed"
    # both are deliveries of their own, recorded and listed
    [callback] = kinds(api, "callback")
    [event] = kinds(api, "event")
    assert callback["state"] == "succeeded" and callback["url"] == receiver.url("/fail-cb")
    assert event["state"] == "succeeded" and event["delivery_id"] == ev.headers["webhook-id"]
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{event['delivery_id']}").data["attempt_count"] == 1


def test_a_success_callback_arrives_for_a_queue_message_with_its_ids(api, receiver, fast):
    api.call("PUT", "/v1/scheduling/queue/orders", {"url": receiver.url("/orders")})
    api.call("PUT", EVENTS, {"url": receiver.url("/events")})
    m = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "orders", "payload": {"o": 1},
                                                          "callback_url": receiver.url("/cb"),
                                                          "failure_callback_url": receiver.url("/fail")}).data
    drain()
    [cb] = arrivals(receiver, "/cb")
    assert cb.verified and arrivals(receiver, "/fail") == [] and arrivals(receiver, "/events") == []
    data = cb.json["data"]
    assert cb.json["type"] == "delivery.succeeded"
    assert data["message_id"] == data["delivery_id"] == m["message_id"] and data["queue"] == "orders"
    assert data["url"] == receiver.url("/orders") and data["last_attempt"]["status_code"] == 200
    assert cb.headers["infrai-callback-for"] == m["message_id"]


def test_cron_runs_carry_the_jobs_callbacks_and_schedule(api, receiver, fast):
    from chalicelib.aws import dispatch
    receiver.script("/job", [500])
    job = api.call("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *", "url": receiver.url("/job"),
                                                   "retries": 0, "failure_callback_url": receiver.url("/fail")}).data
    assert job["failure_callback_url"] == receiver.url("/fail") and job["callback_url"] is None
    at = clock.rfc3339(clock.now())
    dispatch.enqueue({"cron": job["cron_id"], "at": at})
    drain()
    [cb] = arrivals(receiver, "/fail")
    assert cb.json["data"]["cron_id"] == job["cron_id"] and cb.json["data"]["scheduled_at"] == at


def test_no_loops_a_dead_events_url_and_a_dead_callback_make_nothing_more(api, receiver, fast):
    receiver.script("/dead", [500])
    api.call("PUT", EVENTS, {"url": receiver.url("/dead")})
    api.call("POST", SEND, {"url": receiver.url("/dead"), "payload": {}, "retries": 0,
                            "failure_callback_url": receiver.url("/dead")})
    drain()
    for _ in range(3):
        reconcile_after(3600)
        drain()
    [callback] = kinds(api, "callback")
    assert callback["state"] == "failed"                        # no callback about the callback
    evts = kinds(api, "event")
    # the send's failure and its callback's failure are told; the events' own failures are not
    assert len(evts) == 2 and {e["state"] for e in evts} == {"failed"}
    told = [json.loads(store.get(*keys.delivery(e["delivery_id"]))["payload"])["data"]["kind"] for e in evts]
    assert sorted(told) == ["callback", "webhook"]
    assert len(arrivals(receiver, "/dead")) == 1 + 1 + 2 * (events.RETRIES + 1)


def test_without_an_events_url_nothing_is_made(api, receiver, fast):
    receiver.script("/down", [500])
    api.call("POST", SEND, {"url": receiver.url("/down"), "payload": {}, "retries": 0})
    drain()
    assert kinds(api, "event") == [] and kinds(api, "callback") == []


def test_emit_is_once_per_change_when_the_caller_gives_its_time(project, receiver):
    pid = project["project_id"]
    events.put_config(pid, {"url": receiver.url("/events")})
    for _ in range(2):   # a caller that died after emitting runs again
        events.emit(pid, "endpoint.held", {"endpoint_id": "ep_1", "url": "https://x.example/"}, now=1_700_000_000.5)
    events.emit(pid, "endpoint.held", {"endpoint_id": "ep_1", "url": "https://x.example/"}, now=1_700_000_900.0)
    drain()
    got = arrivals(receiver, "/events")
    assert len(got) == 2 and all(a.verified for a in got)
    assert min((a.json for a in got), key=lambda b: b["timestamp"]) == {"type": "endpoint.held", "timestamp": "2023-11-14T22:13:20.500Z",
                           "data": {"endpoint_id": "ep_1", "url": "https://x.example/"}}


def test_a_bulk_replay_that_ends_tells_the_events_url(api, receiver, fast):
    receiver.script("/down", [500])
    api.call("POST", SEND, {"url": receiver.url("/down"), "payload": {}, "retries": 0})
    drain()
    api.call("PUT", EVENTS, {"url": receiver.url("/events")})
    receiver.script("/down", [200])
    job = api.call("POST", "/v1/scheduling/deliveries/replay", {}).data
    drain()
    [ev] = [a for a in arrivals(receiver, "/events") if a.json["type"] == "replay.finished"]
    assert ev.verified and ev.json["data"]["replay_id"] == job["replay_id"]
    assert ev.json["data"]["state"] == "completed" and ev.json["data"]["matched"] == 1
    assert ev.json["data"]["queued"] == 1
    assert reconcile_after(3600) == {}                          # nothing left owing


def test_a_replay_event_lost_to_a_crash_is_emitted_by_the_reconciler(api, receiver, fast, monkeypatch):
    receiver.script("/down", [500])
    api.call("POST", SEND, {"url": receiver.url("/down"), "payload": {}, "retries": 0})
    drain()
    api.call("PUT", EVENTS, {"url": receiver.url("/events")})
    receiver.script("/down", [200])
    with monkeypatch.context() as patched:
        patched.setattr(replays, "announce", lambda job: None)   # the step dies before announcing
        api.call("POST", "/v1/scheduling/deliveries/replay", {})
        drain()
    assert not [a for a in arrivals(receiver, "/events") if a.json["type"] == "replay.finished"]
    assert reconcile_after(120).get("announced") == 1
    drain()
    # one event (one webhook-id); the jump in time may have sent it twice, as at-least-once allows
    assert len({a.headers["webhook-id"] for a in arrivals(receiver, "/events")
                if a.json["type"] == "replay.finished"}) == 1
    assert len(kinds(api, "event")) == 1


def test_a_callback_lost_to_a_crash_is_made_once_by_the_reconciler(api, receiver, monkeypatch):
    from chalicelib.services.notices import notices
    with monkeypatch.context() as patched:
        patched.setattr(notices, "finish", lambda record: None)   # dies right after the success is written
        api.call("POST", SEND, {"url": receiver.url("/ok"), "payload": {}, "callback_url": receiver.url("/cb")})
        drain()
    assert arrivals(receiver, "/cb") == []
    assert reconcile_after(120).get("notified") == 1
    drain()
    assert reconcile_after(120).get("notified") is None          # a second run finds nothing owed
    drain()
    assert len({a.headers["webhook-id"] for a in arrivals(receiver, "/cb")}) == 1
    assert len(kinds(api, "callback")) == 1


# -- retry schedules --------------------------------------------------------------------------

def _gap_after_first_attempt(api, receiver, body):
    receiver.script("/flaky", [500])
    d = api.call("POST", SEND, {"url": receiver.url("/flaky"), "payload": {}, **body}).data
    drain()
    record = store.get(*keys.delivery(d["delivery_id"]))
    assert record["state"] == "retrying", record["state"]
    attempt = record["attempts"][-1]
    return record["next_attempt_at"] - (attempt["at"] + attempt["ms"] / 1000)


def test_an_explicit_schedule_beats_the_stages_and_is_waited_exactly(api, receiver, fast):
    assert _gap_after_first_attempt(api, receiver, {"retry_schedule": [7, 100]}) == pytest.approx(7, abs=0.5)


def test_the_exponential_preset_waits_e_to_the_2_5(api, receiver, fast):
    gap = _gap_after_first_attempt(api, receiver, {"retry_schedule": "exponential"})
    assert math.exp(2.5) * 0.8 - 0.5 <= gap <= math.exp(2.5) * 1.2 + 0.5


def test_without_a_schedule_the_stages_override_applies(api, receiver, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "30")
    assert 30 * 0.8 - 0.5 <= _gap_after_first_attempt(api, receiver, {}) <= 30 * 1.2 + 0.5


def test_a_queues_schedule_applies_to_its_messages(api, receiver, fast):
    receiver.script("/q", [500])
    api.call("PUT", "/v1/scheduling/queue/slow", {"url": receiver.url("/q"), "retry_schedule": [42]})
    m = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "slow", "payload": {}}).data
    drain()
    record = store.get(*keys.delivery(m["message_id"]))
    assert record["state"] == "retrying" and record["retry_schedule"] == [42]
    assert record["next_attempt_at"] - record["updated_at"] == pytest.approx(42, abs=0.5)


def test_retry_policy_rules():
    assert retry_policy.next_delay(1, None, chosen=[3, 9]) == 3
    assert retry_policy.next_delay(5, None, chosen=[3, 9]) == 9           # the last gap repeats
    assert retry_policy.next_delay(2, 7200.0, chosen=[3, 9]) == retry_policy.RETRY_AFTER_CAP  # Retry-After, capped
    assert retry_policy.next_delay(9, None, rng=lambda: 0.5, chosen="exponential") == 86400
    assert retry_policy.next_delay(1, None, (1,), rng=lambda: 0.5, chosen="svix") == 5   # a preset beats the stage's
    assert retry_policy.next_delay(1, None, (1,), rng=lambda: 0.5) == 1                 # nothing chosen: the stage's
    assert retry_policy.check([0, 604800]) == [0, 604800]
