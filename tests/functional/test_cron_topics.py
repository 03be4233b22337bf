"""A cron job that targets a topic (issue 25, docs/topics.md): each run publishes to the topic,
one delivery per matching subscription, delivered to a real receiver on 127.0.0.1 that
verifies every signature with `standardwebhooks`."""
import json

import pytest

from chalicelib.services.deliver import router

from .conftest import drain

BASE = "/v1/scheduling/cron"
T = "/v1/scheduling/topics"
JOB = {"name": "nightly-report", "schedule": "0 9 * * *", "topic": "reports", "event_type": "report.daily",
       "payload": {"region": "eu", "rows": 150}}


def subscribe(api, topic, body):
    resp = api.call("POST", f"{T}/{topic}/subscriptions", body)
    assert resp.status_code == 201, resp.data
    return resp.data["subscription_id"]


@pytest.fixture
def subscribed(api, receiver):
    """`reports` with three subscriptions: the job's type, a filter the payload passes, and one
    to another type (never reached)."""
    api.call("PUT", f"{T}/reports", {})
    return {"/daily": subscribe(api, "reports", {"url": receiver.url("/daily"), "event_types": ["report.daily"]}),
            "/big": subscribe(api, "reports", {"url": receiver.url("/big"),
                                               "filter": {"rows": [{"numeric": [">", 100]}]}}),
            "/other": subscribe(api, "reports", {"url": receiver.url("/other"), "event_types": ["report.weekly"]})}


def create(api, **extra):
    resp = api.call("POST", BASE, {**JOB, **extra})
    assert resp.status_code == 201, resp.data
    return resp.data


def runs(api, cron_id):
    return api.call("GET", f"{BASE}/{cron_id}/runs").data["items"]


def test_a_scheduled_run_fired_twice_reaches_each_matching_subscriber_once_signed(api, receiver, subscribed):
    job = create(api)
    assert job["topic"] == "reports" and job["event_type"] == "report.daily" and "url" not in job
    firing = json.dumps({"cron": job["cron_id"], "at": "2026-11-28T09:00:00Z"})
    router.process_batch([firing, firing])   # Scheduler delivers at least once
    router.process_batch([firing])
    drain()
    assert sorted(a.path for a in receiver.arrivals) == ["/big", "/daily"]
    assert all(a.verified for a in receiver.arrivals)
    assert len({a.headers["webhook-id"] for a in receiver.arrivals}) == 2, "each delivery its own webhook-id"
    for a in receiver.arrivals:
        assert a.json == JOB["payload"]
        assert a.headers["infrai-topic"] == "reports" and a.headers["infrai-event-type"] == "report.daily"
        assert a.headers["infrai-cron-id"] == job["cron_id"]
        assert a.headers["infrai-scheduled-time"] == "2026-11-28T09:00:00.000Z"
        assert a.headers["infrai-subscription"] == subscribed[a.path]
    [run] = runs(api, job["cron_id"])
    assert run["scheduled_at"] == "2026-11-28T09:00:00.000Z" and run["target"] == "topic"
    assert run["topic"] == "reports" and run["matched"] == 2 and run["delivery_state"] == "published"
    listed = api.call("GET", "/v1/scheduling/deliveries?topic=reports").data["items"]
    assert len(listed) == 2 and {d["state"] for d in listed} == {"succeeded"}


def test_trigger_and_backfill_publish_and_a_run_without_subscribers_is_recorded(api, receiver, subscribed):
    job = create(api, event_type="report.weekly", payload={"rows": 1})   # reaches /other only
    resp = api.call("POST", f"{BASE}/{job['cron_id']}/trigger", headers={"Idempotency-Key": "t-1"})
    assert resp.status_code == 202 and resp.data["matched"] == 1 and resp.data["manual"] is True, resp.data
    again = api.call("POST", f"{BASE}/{job['cron_id']}/trigger", headers={"Idempotency-Key": "t-1"})
    assert again.data == resp.data
    drain()
    assert [a.path for a in receiver.arrivals] == ["/other"] and receiver.arrivals[0].verified
    api.call("POST", f"{BASE}/{job['cron_id']}/pause")
    filled = api.call("POST", f"{BASE}/{job['cron_id']}/backfill",
                      {"since": "2026-11-01T08:30:00Z", "until": "2026-11-03T08:30:00Z"})
    assert filled.status_code == 200 and filled.data["fired"] == 2, filled.data   # a paused job backfills
    drain()
    assert [a.path for a in receiver.arrivals] == ["/other"] * 3
    assert len({a.headers["webhook-id"] for a in receiver.arrivals}) == 3
    api.call("PATCH", f"{BASE}/{job['cron_id']}", {"event_type": "nobody.listens"})
    api.call("POST", f"{BASE}/{job['cron_id']}/resume")
    nothing = api.call("POST", f"{BASE}/{job['cron_id']}/trigger")
    assert nothing.status_code == 202 and nothing.data["matched"] == 0 and nothing.data["delivery_state"] == "published"
    assert len(runs(api, job["cron_id"])) == 4
    drain()
    assert len(receiver.arrivals) == 3


def test_a_scheduled_run_counts_a_delivery_per_subscriber_against_the_daily_limit(api, receiver, subscribed,
                                                                                   monkeypatch):
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"deliveries_per_day": 3}}))
    job = create(api)   # reaches two subscriptions: the first run fits in 3, the second does not
    for at in ("2026-11-28T09:00:00Z", "2026-11-29T09:00:00Z"):
        router.process_batch([json.dumps({"cron": job["cron_id"], "at": at})])
    drain()
    assert sorted(a.path for a in receiver.arrivals) == ["/big", "/daily"]
    by_time = {r["scheduled_at"][:10]: r for r in runs(api, job["cron_id"])}
    assert by_time["2026-11-28"]["matched"] == 2
    assert by_time["2026-11-29"]["delivery_state"] == "skipped"
    assert by_time["2026-11-29"]["skipped_reason"] == "quota_exceeded"


def test_a_job_can_move_between_a_url_and_a_topic(api):
    api.call("PUT", f"{T}/reports", {})
    job = create(api)
    moved = api.call("PATCH", f"{BASE}/{job['cron_id']}", {"url": "https://hooks.example.com/r"})
    assert moved.status_code == 200, moved.data
    assert moved.data["url"] == "https://hooks.example.com/r" and "topic" not in moved.data and "event_type" not in moved.data
    refused = api.call("PATCH", f"{BASE}/{job['cron_id']}", {"topic": "reports"})
    assert refused.status_code == 400 and refused.data["error"]["field"] == "event_type"
    back = api.call("PATCH", f"{BASE}/{job['cron_id']}", {"topic": "reports", "event_type": "a.b"})
    assert back.status_code == 200 and back.data["topic"] == "reports" and back.data["event_type"] == "a.b"


BAD = [
    ({**JOB, "url": "https://hooks.example.com/x"}, "url"),
    ({**JOB, "queue": "q1"}, "queue"),
    ({k: v for k, v in JOB.items() if k != "event_type"}, "event_type"),
    ({"name": "x", "schedule": "0 9 * * *", "url": "https://hooks.example.com/x", "event_type": "a.b"}, "event_type"),
    ({**JOB, "event_type": "has space"}, "event_type"),
    ({**JOB, "topic": "bad name!"}, "topic"),
    ({**JOB, "payload": [1, 2]}, "payload"),
    ({**JOB, "flow_key": "k"}, "flow_key"),
    ({**JOB, "circuit_breaker": {"failure_threshold": 3}}, "circuit_breaker"),
]


@pytest.mark.parametrize("body,field", BAD)
def test_bad_combinations_are_a_400_naming_the_field_and_create_nothing(api, body, field):
    api.call("PUT", f"{T}/reports", {})
    resp = api.call("POST", BASE, body)
    assert resp.status_code == 400, resp.data
    assert resp.data["error"]["field"] == field and len(resp.data["error"]["message"]) > 15
    assert api.call("GET", BASE).data["items"] == []


def test_a_topic_that_does_not_exist_is_a_404(api):
    resp = api.call("POST", BASE, JOB)
    assert resp.status_code == 404 and "PUT /v1/scheduling/topics/reports" in resp.data["error"]["message"]
    assert api.call("GET", BASE).data["items"] == []
