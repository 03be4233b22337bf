"""Cron races and a catch-up edge, each interleaving forced deterministically:
- two DELETEs of one job give its plan slot back once, and leave no stub behind;
- a PATCH whose Scheduler write lands after a racing change's leaves Scheduler on the record;
- a schedule change does not make the catch-up fire times the new schedule had before it."""

import pytest

from chalicelib.aws import keys, scheduler, store
from chalicelib.core import due
from chalicelib.services.cron import cron, cron_runs
from chalicelib.services.tenancy import counters

from .conftest import reconcile_after
from .test_cron_api import jobs_stored as cron_items, schedules
from .test_cron_missed_runs import fired, now  # noqa: F401 - fixtures

BASE = "/v1/scheduling/cron"
JOB = {"name": "daily", "schedule": "0 9 * * *", "url": "https://hooks.example.com/d", "payload": {}}


def slots_taken(project_id):
    return store.get(*counters.counter_key(project_id, "cron_jobs"))["n"]


def project_id(api):
    return api.call("GET", "/v1/auth/me").data["project_id"]


# -- 1. two DELETEs of one job ----------------------------------------------------------------------

def test_two_racing_deletes_free_the_slot_once_and_leave_no_stub(api, monkeypatch):
    """Both DELETEs read the job; one runs to its end (schedules, record and slot gone); then the
    other writes `sync: deleting`. That write must not re-create the job as a stub whose delete
    gives a second slot back (the counter then says 0 with a job still there)."""
    pid = project_id(api)
    keep = api.call("POST", BASE, JOB).data
    job = api.call("POST", BASE, JOB).data
    assert slots_taken(pid) == 2
    real_load = cron.load
    raced = []

    def load_then_the_other_delete_runs(project, cron_id):
        record = real_load(project, cron_id)
        if not raced:
            raced.append(1)
            cron.delete(project, cron_id)   # the other DELETE, from its read to its end
        return record
    monkeypatch.setattr(cron, "load", load_then_the_other_delete_runs)
    resp = api.call("DELETE", f"{BASE}/{job['cron_id']}")
    assert raced
    assert slots_taken(pid) == 1, "one job left, one slot taken"
    assert [i["cron_id"]["S"] for i in cron_items()] == [keep["cron_id"]], "no stub of the deleted job"
    assert resp.status_code == 404, "the other request deleted it: this one finds it gone"
    assert reconcile_after(3600) == {}
    assert api.call("DELETE", f"{BASE}/{keep['cron_id']}").status_code == 200
    assert slots_taken(pid) == 0 and cron_items() == [] and schedules() == {}


class Died(BaseException):
    """A request's process ending (not an exception the code could catch)."""


def test_a_late_delete_that_dies_after_its_write_leaves_nothing_for_the_reconciler(api, monkeypatch):
    """The other DELETE finished; this one dies right after its `sync: deleting` write. Before
    the fix that write left a stub (no cron_id) that the reconciler failed on at every run."""
    pid = project_id(api)
    job = api.call("POST", BASE, JOB).data
    stale = cron.load(pid, job["cron_id"])
    cron.delete(pid, job["cron_id"])
    assert slots_taken(pid) == 0 and cron_items() == []
    monkeypatch.setattr(cron, "load", lambda project, cron_id: stale)   # what it read before

    def die(*a, **k):
        raise Died()
    monkeypatch.setattr(cron, "converge", die)
    try:
        cron.delete(pid, job["cron_id"])
    except (Died, Exception):
        pass
    assert cron_items() == [], "no stub"
    assert reconcile_after(3600) == {}
    assert slots_taken(pid) == 0


# -- 2. a late Scheduler write ----------------------------------------------------------------------

@pytest.mark.parametrize("other,expression,state", [
    (lambda pid, cid: cron.update(pid, cid, {"schedule": "0 11 * * *"}), "cron(0 11 * * ? *)", "ENABLED"),
    (lambda pid, cid: cron.set_enabled(pid, cid, False), "cron(0 10 * * ? *)", "DISABLED"),
], ids=["patch-schedule", "pause"])
def test_a_patch_whose_schedule_write_lands_last_leaves_scheduler_on_the_record(api, monkeypatch, other,
                                                                              expression, state):
    """PATCH A writes its record; before its Scheduler write lands, change B runs to its end
    (B's record wins, B's Scheduler write is done); then A's write lands with A's expression.
    Scheduler must end as the record says, after the race and whatever repair follows."""
    pid = project_id(api)
    job = api.call("POST", BASE, JOB).data
    real = scheduler.put
    raced = []

    def put_after_the_other_change(*a, **k):
        if not raced:
            raced.append(1)
            other(pid, job["cron_id"])
        return real(*a, **k)
    monkeypatch.setattr(scheduler, "put", put_after_the_other_change)
    resp = api.call("PATCH", f"{BASE}/{job['cron_id']}", {"schedule": "0 10 * * *"})
    assert raced and resp.status_code == 200
    reconcile_after(3600)
    record = store.get(*keys.cron_job(job["cron_id"]))
    assert record["sync"] == "ok" and record["aws_expressions"] == [expression]
    s = schedules()[job["cron_id"]]
    assert (s["ScheduleExpression"], s["State"]) == (expression, state)


# -- 3. a schedule change and the catch-up window ---------------------------------------------------

def test_a_schedule_change_catches_up_only_times_of_the_schedule_in_force(api, now, fired):
    """Hourly at :00 from 00:10 with a 2 h window; its 01:00 run never fired. At 01:05 it changes
    to :10 and :50; Scheduler fires 01:50. The check at 02:00 owes 01:00 (old schedule, missed)
    and 01:10 (new schedule, missed), never 00:50: the new schedule was not in force then."""
    job = api.call("POST", BASE, {**JOB, "schedule": "0 * * * *", "catch_up_window_seconds": 7200}).data
    now.set("2026-11-02T01:05:00Z")
    assert api.call("PATCH", f"{BASE}/{job['cron_id']}", {"schedule": "10,50 * * * *"}).status_code == 200
    now.set("2026-11-02T01:50:00Z")
    cron_runs.fire(job["cron_id"], "2026-11-02T01:50:00Z")   # Scheduler's firing
    now.set("2026-11-02T02:00:00Z")
    reconcile_after(0)
    assert fired[1:] == ["2026-11-02T01:00:00.000Z", "2026-11-02T01:10:00.000Z"]


def test_a_timezone_change_catches_up_only_times_of_the_timezone_in_force(api, now, fired):
    """Daily at 09:00 UTC from 02:00; at 09:30 UTC it moves to Asia/Kolkata (09:00 IST = 03:30
    UTC). The 03:30 UTC of that day was never scheduled: nothing is owed."""
    now.set("2026-11-02T02:00:00Z")
    job = api.call("POST", BASE, {**JOB, "catch_up_window_seconds": 7 * 86400}).data
    now.set("2026-11-02T09:00:00Z")
    cron_runs.fire(job["cron_id"], "2026-11-02T09:00:00Z")   # Scheduler's firing
    now.set("2026-11-02T09:30:00Z")
    assert api.call("PATCH", f"{BASE}/{job['cron_id']}", {"timezone": "Asia/Kolkata"}).status_code == 200
    now.set("2026-11-02T10:00:00Z")
    reconcile_after(due.SYNC_GRACE)
    assert fired == ["2026-11-02T09:00:00.000Z"]
