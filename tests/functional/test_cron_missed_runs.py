"""Missed cron runs (issue 15): the catch-up window after a pause or an outage, backfill of a past
window, and the `cron.run_skipped` events, through the API against moto with an injected clock."""
import json
from datetime import datetime, timezone
from unittest import mock

import pytest

from chalicelib import sender
from chalicelib.aws import keys, store
from chalicelib.core import clock
from chalicelib.services.cron import cron_runs
from chalicelib.services.notices import events

from .conftest import drain, reconcile_after

BASE = "/v1/scheduling/cron"
OK = sender.AttemptResult(status=200, duration_ms=5, error=None, excerpt="", retry_after=None)


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def now(monkeypatch):
    """The clock, settable: now.set("2026-11-02T00:10:00Z")."""
    class Clock:
        t = at("2026-11-02T00:10:00Z")

        def set(self, text):
            self.t = at(text)
    c = Clock()
    monkeypatch.setattr(clock, "_now", lambda: c.t)
    return c


@pytest.fixture
def told(monkeypatch):
    """Every event the service emits, as (project, type, data)."""
    calls = []
    monkeypatch.setattr(events, "emit", lambda p, t, d, *, now=None: calls.append((p, t, d)))
    return calls


@pytest.fixture
def fired(monkeypatch):
    """The scheduled times fired, in the order they were fired."""
    order = []
    real = cron_runs.fire

    def spy(cron_id, scheduled, **kw):
        order.append(clock.rfc3339(at(scheduled)))
        return real(cron_id, scheduled, **kw)
    monkeypatch.setattr(cron_runs, "fire", spy)
    return order


def job(api, **extra):
    body = {"name": "hourly", "schedule": "0 * * * *", "url": "https://hooks.example.com/h", "payload": {}, **extra}
    resp = api.call("POST", BASE, body)
    assert resp.status_code == 201, resp.data
    return resp.data


def runs(api, cron_id):
    out, cursor = [], None
    while True:
        page = api.call("GET", f"{BASE}/{cron_id}/runs?limit=100" + (f"&cursor={cursor}" if cursor else "")).data
        out += page["items"]
        if not (cursor := page["next_cursor"]):
            return sorted(out, key=lambda r: r["scheduled_at"])


def _all_dispatch_messages():
    from chalicelib.aws import clients, dispatch
    sqs, url, out = clients.sqs(), dispatch.dispatch_queue_url(), []
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages"):
        out += msgs
    return out


def backfill(api, cron_id, since, until, **extra):
    return api.call("POST", f"{BASE}/{cron_id}/backfill", {"since": since, "until": until, **extra})


# -- the field ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [-1, 7 * 86400 + 1, "3600", True, 1.5, None])
def test_a_bad_catch_up_window_is_a_400_naming_the_field(api, value):
    body = {"name": "j", "schedule": "0 * * * *", "url": "https://hooks.example.com/h",
            "catch_up_window_seconds": value}
    resp = api.call("POST", BASE, body)
    if value is None:   # null is the default, like every optional field
        assert resp.status_code == 201 and resp.data["catch_up_window_seconds"] == 0
        return
    assert resp.status_code == 400, resp.data
    assert resp.data["error"]["field"] == "catch_up_window_seconds"
    assert "604800" in resp.data["error"]["message"]
    assert api.call("GET", BASE).data["items"] == []


def test_the_window_defaults_to_zero_and_is_kept_by_patch(api):
    j = job(api)
    assert j["catch_up_window_seconds"] == 0
    changed = api.call("PATCH", f"{BASE}/{j['cron_id']}", {"catch_up_window_seconds": 3600}).data
    assert changed["catch_up_window_seconds"] == 3600
    renamed = api.call("PATCH", f"{BASE}/{j['cron_id']}", {"name": "other"}).data
    assert renamed["catch_up_window_seconds"] == 3600
    assert api.call("GET", f"{BASE}/{j['cron_id']}").data["catch_up_window_seconds"] == 3600


# -- catch-up -------------------------------------------------------------------------------------

def test_runs_missed_while_paused_fire_on_resume_within_the_window_oldest_first(api, now, told, fired):
    j = job(api, catch_up_window_seconds=2 * 3600)         # made at 00:10
    now.set("2026-11-02T00:20:00Z")
    api.call("POST", f"{BASE}/{j['cron_id']}/pause")
    now.set("2026-11-02T00:30:00Z")
    reconcile_after(0)                                      # paused: the watch rests, nothing fires
    assert fired == [] and told == []
    now.set("2026-11-02T05:10:00Z")                         # 01:00 to 05:00 were missed
    assert api.call("POST", f"{BASE}/{j['cron_id']}/resume").data["enabled"] is True
    assert reconcile_after(0).get("caught up") == 1
    assert fired == ["2026-11-02T04:00:00.000Z", "2026-11-02T05:00:00.000Z"]   # the window: since 03:10
    assert [r["scheduled_at"] for r in runs(api, j["cron_id"])] == fired
    [(pid, kind, data)] = told
    assert kind == "cron.run_skipped" and data == {
        "cron_id": j["cron_id"], "reason": "missed", "count": 3, "count_is_lower_bound": False,
        "since": "2026-11-02T01:00:00.000Z", "until": "2026-11-02T03:00:00.000Z",
        "catch_up_window_seconds": 7200}
    reconcile_after(0)
    reconcile_after(3 * 60)
    assert len(fired) == 2 and len(told) == 1, "caught up once: nothing fired or told twice"
    with mock.patch.object(sender, "post", return_value=OK) as post:
        drain()
    assert post.call_count == 2
    assert {c.args[2]["infrai-scheduled-time"] for c in post.call_args_list} == {
        "2026-11-02T04:00:00.000Z", "2026-11-02T05:00:00.000Z"}


def test_runs_missed_while_the_service_was_down_fire_on_recovery(api, now, told, fired):
    """Every 15 minutes, a one-hour window. Scheduler fires until 01:00; then nothing runs at all
    (no firing, no reconciler) until 04:00, except one firing at 03:30 that got through. On
    recovery the reconciler's first pass fires what is missing of the last hour and tells how
    many older runs were skipped; the 03:30 run is neither fired again nor counted."""
    j = job(api, schedule="*/15 * * * *", catch_up_window_seconds=3600)   # made at 00:10
    scheduler_fired = ["2026-11-02T00:15:00Z", "2026-11-02T00:30:00Z", "2026-11-02T00:45:00Z",
                       "2026-11-02T01:00:00Z", "2026-11-02T03:30:00Z"]
    for t in scheduler_fired[:4]:
        now.set(t)
        cron_runs.fire(j["cron_id"], t)
        reconcile_after(60)
    assert told == [] and len(fired) == 4, "healthy: the checks fire nothing"
    now.set(scheduler_fired[4])
    cron_runs.fire(j["cron_id"], scheduler_fired[4])
    now.set("2026-11-02T04:01:00Z")                          # recovery: the reconciler runs again
    reconcile_after(0)
    # too old (before 03:01): 01:15 ... 03:00 = 8 times without a run; 03:15, 03:45 in the window;
    # 04:00 is younger than the grace, left to Scheduler (and the next check)
    assert fired[5:] == ["2026-11-02T03:15:00.000Z", "2026-11-02T03:45:00.000Z"]
    [(_, _, data)] = told
    assert data["reason"] == "missed" and data["count"] == 8
    # the span looked at: 01:00 (which ran) to 03:00
    assert (data["since"], data["until"]) == ("2026-11-02T01:00:00.000Z", "2026-11-02T03:00:00.000Z")
    now.set("2026-11-02T04:20:00Z")
    reconcile_after(0)
    # still nothing from Scheduler: 04:00 and 04:15 are missed too, young enough to fire
    assert fired[7:] == ["2026-11-02T04:00:00.000Z", "2026-11-02T04:15:00.000Z"] and len(told) == 1
    listed = runs(api, j["cron_id"])
    times = [r["scheduled_at"] for r in listed]
    assert len(times) == len(set(times)) == 5 + 4
    # Scheduler's own firing of 03:15 arriving late (its retries): the run the catch-up made, nothing new
    late_id, work = cron_runs.fire(j["cron_id"], "2026-11-02T03:15:00Z")
    assert work is None and late_id == next(r["delivery_id"] for r in listed if r["scheduled_at"].startswith(
        "2026-11-02T03:15"))
    assert len(runs(api, j["cron_id"])) == 9


def test_a_job_without_a_window_skips_missed_runs_silently_as_before(api, now, told, fired):
    j = job(api)
    api.call("POST", f"{BASE}/{j['cron_id']}/pause")
    now.set("2026-11-02T05:10:00Z")
    api.call("POST", f"{BASE}/{j['cron_id']}/resume")
    assert reconcile_after(0) == {}
    assert fired == [] and told == [] and runs(api, j["cron_id"]) == []


def test_the_watch_goes_with_the_window_and_with_the_job(api, now):
    a, b = job(api, catch_up_window_seconds=600), job(api, catch_up_window_seconds=600)
    assert store.get(*keys.cron_watch(a["cron_id"])) and store.get(*keys.cron_watch(b["cron_id"]))
    api.call("PATCH", f"{BASE}/{a['cron_id']}", {"catch_up_window_seconds": 0})
    api.call("DELETE", f"{BASE}/{b['cron_id']}")
    assert store.get(*keys.cron_watch(b["cron_id"])) is None
    assert reconcile_after(3600) == {"unwatched": 1}
    assert store.get(*keys.cron_watch(a["cron_id"])) is None
    assert reconcile_after(30 * 86400) == {}


# -- backfill -------------------------------------------------------------------------------------

def test_a_week_of_an_hourly_job_backfills_168_runs_once_each_even_asked_twice(api, now):
    now.set("2026-11-30T12:00:00Z")
    j = job(api)
    first = backfill(api, j["cron_id"], "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z")
    assert first.status_code == 200, first.data
    assert first.data == {"cron_id": j["cron_id"], "since": "2026-11-16T00:00:00.000Z",
                          "until": "2026-11-23T00:00:00.000Z", "runs": 168, "fired": 168, "existing": 0,
                          "skipped": 0}
    again = backfill(api, j["cron_id"], "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z").data
    assert (again["runs"], again["fired"], again["existing"]) == (168, 0, 168)
    listed = runs(api, j["cron_id"])
    assert len(listed) == 168 and len({r["delivery_id"] for r in listed}) == 168
    assert listed[0]["scheduled_at"] == "2026-11-16T00:00:00.000Z"
    assert listed[-1]["scheduled_at"] == "2026-11-22T23:00:00.000Z"
    assert {r["delivery_state"] for r in listed} == {"queued"} and not any(r["manual"] for r in listed)
    # each run is one delivery with its first attempt on the dispatch queue, once
    works = [json.loads(m["Body"]) for m in _all_dispatch_messages()]
    assert sorted(w["d"] for w in works) == sorted(r["delivery_id"] for r in listed)


def test_backfill_counts_what_scheduler_fired_and_fires_a_paused_job(api, now):
    now.set("2026-11-30T12:00:00Z")
    j = job(api)
    cron_runs.fire(j["cron_id"], "2026-11-30T10:00:00Z")     # Scheduler's own firing
    api.call("POST", f"{BASE}/{j['cron_id']}/pause")
    out = backfill(api, j["cron_id"], "2026-11-30T09:00:00Z", "2026-11-30T12:00:00Z").data
    assert (out["runs"], out["fired"], out["existing"]) == (3, 2, 1)
    assert len(runs(api, j["cron_id"])) == 3


@pytest.mark.parametrize("days, real_hours, expected", [
    (("2026-03-07", "2026-03-09"), 47, 47),   # spring forward on Mar 8: 02:00 never happens
    (("2026-10-31", "2026-11-02"), 49, 48),   # fall back on Nov 1: 01:00 happens twice, runs once
])
def test_backfill_across_a_dst_change_counts_wall_clock_hours(api, now, days, real_hours, expected):
    """Two local days of an hourly job in New York around each change: a week's count is the same
    sum (167 across spring forward, 168 across fall back), for a quarter of the runs."""
    from zoneinfo import ZoneInfo
    now.set("2026-12-01T00:00:00Z")
    j = job(api, timezone="America/New_York")
    ny = ZoneInfo("America/New_York")
    a, b = (datetime.fromisoformat(d).replace(tzinfo=ny).astimezone(timezone.utc) for d in days)
    assert (b - a).total_seconds() / 3600 == real_hours
    z = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")   # noqa: E731
    out = backfill(api, j["cron_id"], z(a), z(b)).data
    assert (out["runs"], out["fired"]) == (expected, expected)
    times = [r["scheduled_at"] for r in runs(api, j["cron_id"])]
    assert len(times) == len(set(times)) == expected
    if expected == 48:
        assert "2026-11-01T05:00:00.000Z" in times and "2026-11-01T06:00:00.000Z" not in times   # 01:00 EDT only
    else:
        assert "2026-03-08T06:00:00.000Z" in times and "2026-03-08T07:00:00.000Z" in times   # 01:00 EST, 03:00 EDT
        local_days = [datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(ny).date().isoformat() for t in times]
        assert local_days.count("2026-03-08") == 23


@pytest.mark.parametrize("body, field", [
    ({"until": "2026-11-30T00:00:00Z"}, "since"),
    ({"since": "2026-11-29T00:00:00Z"}, "until"),
    ({"since": "yesterday", "until": "2026-11-30T00:00:00Z"}, "since"),
    ({"since": "2026-11-29T00:00:00", "until": "2026-11-30T00:00:00Z"}, "since"),
    ({"since": "2026-11-30T00:00:00Z", "until": "2026-11-29T00:00:00Z"}, "since"),
    ({"since": "2026-11-29T00:00:00Z", "until": "2026-12-30T00:00:00Z"}, "until"),   # the future
    ({"since": "2025-01-01T00:00:00Z", "until": "2026-11-30T00:00:00Z"}, "since"),   # over 366 days
    ({"since": "2026-10-01T00:00:00Z", "until": "2026-11-30T00:00:00Z"}, "until"),   # 1,440 runs: over 1,000
    ({"since": "2026-11-29T00:00:00Z", "until": "2026-11-30T00:00:00Z", "limit": 5}, "limit"),
])
def test_bad_backfills_are_400s_naming_the_field_and_fire_nothing(api, now, body, field):
    now.set("2026-11-30T12:00:00Z")
    j = job(api)
    resp = api.call("POST", f"{BASE}/{j['cron_id']}/backfill", body)
    assert resp.status_code == 400, resp.data
    assert resp.data["error"]["field"] == field, resp.data
    assert runs(api, j["cron_id"]) == []


def test_a_backfill_over_the_limit_says_where_to_split(api, now, monkeypatch):
    """The limit is 1,000 runs (tests/contract ties the spec to it); 10 here, to fire few."""
    from chalicelib.services.cron import cron_catchup
    monkeypatch.setattr(cron_catchup, "MAX_BACKFILL_RUNS", 10)
    now.set("2026-11-30T12:00:00Z")
    j = job(api)
    resp = backfill(api, j["cron_id"], "2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z")
    assert resp.status_code == 400 and resp.data["error"]["field"] == "until"
    assert "until 2026-11-29T10:00:00.000Z first" in resp.data["error"]["message"]   # the 11th run
    assert runs(api, j["cron_id"]) == []
    ok = backfill(api, j["cron_id"], "2026-11-29T00:00:00Z", "2026-11-29T10:00:00Z").data
    assert (ok["runs"], ok["fired"]) == (10, 10)


def test_backfill_of_an_unknown_or_foreign_job_is_404(api, client, now):
    from chalicelib.services.tenancy import projects
    from .conftest import Api
    now.set("2026-11-30T12:00:00Z")
    j = job(api)
    other = Api(client, projects.create_project()["api_key"])
    for who, cron_id in ((api, "cron_nope"), (other, j["cron_id"])):
        resp = backfill(who, cron_id, "2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z")
        assert resp.status_code == 404 and resp.data["error"]["field"] == "cron_id"
    assert runs(api, j["cron_id"]) == []


def test_runs_over_the_daily_limit_are_skipped_and_told(api, now, told, monkeypatch):
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"deliveries_per_day": 5}}))
    now.set("2026-11-30T12:00:00Z")
    j = job(api)
    out = backfill(api, j["cron_id"], "2026-11-30T00:00:00Z", "2026-11-30T08:00:00Z").data
    assert (out["runs"], out["fired"], out["skipped"]) == (8, 5, 3)
    skipped = [r for r in runs(api, j["cron_id"]) if r["delivery_state"] == "skipped"]
    assert len(skipped) == 3 and {r["skipped_reason"] for r in skipped} == {"quota_exceeded"}
    assert sorted(d["scheduled_at"] for _, t, d in told if t == "cron.run_skipped") == sorted(
        r["scheduled_at"] for r in skipped)
    assert {d["reason"] for _, _, d in told} == {"quota_exceeded"} and {d["cron_id"] for _, _, d in told} == {
        j["cron_id"]}
    again = backfill(api, j["cron_id"], "2026-11-30T00:00:00Z", "2026-11-30T08:00:00Z").data
    assert (again["fired"], again["existing"], len(told)) == (0, 8, 3), "a skipped run stays skipped: asked once"
