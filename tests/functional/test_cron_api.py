"""Cron jobs through the API against moto: records and EventBridge Scheduler schedules in step."""
import json
from datetime import datetime, timezone

import pytest

from chalicelib.aws import clients
from chalicelib import config
from chalicelib.core import due

from .conftest import drain, reconcile_after

BASE = "/v1/scheduling/cron"
JOB = {"name": "daily-digest", "schedule": "0 9 * * *", "url": "https://hooks.example.com/digest",
       "timezone": "Europe/London", "payload": {"segment": "active-users"}}


def schedules():
    resp = clients.scheduler().list_schedules(GroupName=config.schedule_group())
    return {s["Name"]: clients.scheduler().get_schedule(Name=s["Name"], GroupName=config.schedule_group())
            for s in resp["Schedules"]}


def jobs_stored():
    items = clients.dynamodb().scan(TableName=config.table_name())["Items"]
    return [i for i in items if i["sk"]["S"] == "CRON"]


def test_create_returns_the_record_and_one_schedule(api):
    resp = api.call("POST", BASE, JOB)
    assert resp.status_code == 201, resp.data
    job = resp.data
    assert job["cron_id"].startswith("cron_") and job["name"] == "daily-digest"
    assert job["timezone"] == "Europe/London" and job["enabled"] is True
    assert job["retries"] == 3 and job["timeout_seconds"] == 300
    assert job["payload"] == {"segment": "active-users"} and job["url"] == JOB["url"]
    assert job["next_run_at"].endswith("Z")
    [(name, sched)] = schedules().items()
    assert name == job["cron_id"]
    assert sched["ScheduleExpression"] == "cron(0 9 * * ? *)"
    assert sched["ScheduleExpressionTimezone"] == "Europe/London"
    assert sched["FlexibleTimeWindow"] == {"Mode": "OFF"} and sched["State"] == "ENABLED"
    target = sched["Target"]
    assert json.loads(target["Input"]) == {"cron": job["cron_id"], "at": "<aws.scheduler.scheduled-time>"}
    assert target["Arn"].endswith(config.dispatch_queue_name())
    assert target["DeadLetterConfig"]["Arn"].endswith(config.dead_letter_queue_name())
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_next_run_is_nine_in_london(api, monkeypatch):
    from chalicelib.core import clock
    monkeypatch.setattr(clock, "_now", lambda: datetime(2026, 7, 1, 12, tzinfo=timezone.utc).timestamp())
    job = api.call("POST", BASE, JOB).data
    assert job["next_run_at"] == "2026-07-02T08:00:00.000Z"   # 09:00 BST
    got = api.call("GET", f"{BASE}/{job['cron_id']}").data
    assert got["next_runs"][:2] == ["2026-07-02T08:00:00.000Z", "2026-07-03T08:00:00.000Z"]
    assert len(got["next_runs"]) == 5


def test_day_of_month_or_day_of_week_makes_two_schedules(api):
    job = api.call("POST", BASE, {**JOB, "schedule": "0 9 1 * MON"}).data
    got = schedules()
    assert set(got) == {job["cron_id"], job["cron_id"] + "-2"}
    assert {s["ScheduleExpression"] for s in got.values()} == {"cron(0 9 1 * ? *)", "cron(0 9 ? * MON *)"}
    # narrowing it back to one expression removes the second schedule
    api.call("PATCH", f"{BASE}/{job['cron_id']}", {"schedule": "0 9 * * MON"})
    assert set(schedules()) == {job["cron_id"]}


def test_list_pages_in_creation_order(api):
    ids = [api.call("POST", BASE, {**JOB, "name": f"j{i}"}).data["cron_id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        q = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = api.call("GET", BASE + q).data
        seen += [j["cron_id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


def test_patch_pause_resume_delete_keep_the_schedule_in_step(api):
    job = api.call("POST", BASE, JOB).data
    cid = job["cron_id"]
    patched = api.call("PATCH", f"{BASE}/{cid}", {"schedule": "30 7 * * 1-5", "timezone": "Asia/Kolkata"})
    assert patched.status_code == 200 and patched.data["schedule"] == "30 7 * * 1-5"
    s = schedules()[cid]
    assert s["ScheduleExpression"] == "cron(30 7 ? * MON-FRI *)" and s["ScheduleExpressionTimezone"] == "Asia/Kolkata"
    paused = api.call("POST", f"{BASE}/{cid}/pause").data
    assert paused["enabled"] is False and paused["next_run_at"] is None
    assert schedules()[cid]["State"] == "DISABLED"
    assert api.call("POST", f"{BASE}/{cid}/resume").data["enabled"] is True
    assert schedules()[cid]["State"] == "ENABLED"
    assert api.call("DELETE", f"{BASE}/{cid}").status_code == 200
    assert schedules() == {} and jobs_stored() == []
    assert api.call("GET", f"{BASE}/{cid}").status_code == 404


def test_a_failing_schedule_create_is_stored_and_converges(api, monkeypatch):
    """DynamoDB is the truth: a job whose schedule cannot be made yet is created, and the
    reconciler makes its schedule once Scheduler answers again."""
    from chalicelib.aws import scheduler
    real = scheduler.put

    def down(*a, **k):
        raise RuntimeError("Scheduler is down")
    monkeypatch.setattr(scheduler, "put", down)
    resp = api.call("POST", BASE, JOB)
    assert resp.status_code == 201 and len(jobs_stored()) == 1 and schedules() == {}
    assert reconcile_after(0) == {}, "not due yet: the request may still be finishing"
    assert reconcile_after(due.SYNC_GRACE + 1) == {"error": 1}, "still down: tried again a minute on"
    monkeypatch.setattr(scheduler, "put", real)
    assert reconcile_after(due.SYNC_GRACE + 1 + due.RECONCILE_EVERY) == {"synced": 1}
    assert schedules()[resp.data["cron_id"]]["ScheduleExpression"] == "cron(0 9 * * ? *)"
    assert reconcile_after(3600) == {}, "synced: nothing more is due"


def test_a_failing_schedule_update_is_kept_and_converges(api, monkeypatch):
    from chalicelib.aws import scheduler
    job = api.call("POST", BASE, JOB).data
    real = scheduler.put

    def down(*a, **k):
        raise RuntimeError("Scheduler is down")
    monkeypatch.setattr(scheduler, "put", down)
    resp = api.call("PATCH", f"{BASE}/{job['cron_id']}", {"schedule": "0 10 * * *"})
    assert resp.status_code == 200 and resp.data["schedule"] == "0 10 * * *"
    assert schedules()[job["cron_id"]]["ScheduleExpression"] == "cron(0 9 * * ? *)"
    monkeypatch.setattr(scheduler, "put", real)
    assert reconcile_after(due.SYNC_GRACE + 1) == {"synced": 1}
    assert schedules()[job["cron_id"]]["ScheduleExpression"] == "cron(0 10 * * ? *)"


def test_a_failing_schedule_delete_is_finished_by_the_reconciler(api, monkeypatch):
    from chalicelib.aws import scheduler
    job = api.call("POST", BASE, JOB).data
    real = scheduler.delete

    def down(*a, **k):
        raise RuntimeError("Scheduler is down")
    monkeypatch.setattr(scheduler, "delete", down)
    assert api.call("DELETE", f"{BASE}/{job['cron_id']}").status_code == 200
    assert api.call("GET", f"{BASE}/{job['cron_id']}").status_code == 404
    assert job["cron_id"] in schedules(), "Scheduler refused; the reconciler owes the delete"
    monkeypatch.setattr(scheduler, "delete", real)
    assert reconcile_after(due.SYNC_GRACE + 1) == {"deleted": 1}
    assert schedules() == {} and jobs_stored() == []


def test_a_record_left_pending_converges_on_read(api):
    """A crash between the record write and the schedule write: the next read fixes it."""
    from chalicelib.aws import keys, scheduler, store
    job = api.call("POST", BASE, JOB).data
    scheduler.delete(job["cron_id"])
    store.update(*keys.cron_job(job["cron_id"]), {"sync": "pending"})
    assert api.call("GET", f"{BASE}/{job['cron_id']}").status_code == 200
    assert job["cron_id"] in schedules()


def test_firing_twice_makes_one_run_and_one_delivery(api):
    from chalicelib.services.deliver import router
    job = api.call("POST", BASE, JOB).data
    firing = json.dumps({"cron": job["cron_id"], "at": "2026-11-28T09:00:00Z"})
    from unittest import mock
    from chalicelib import sender
    ok = sender.AttemptResult(status=200, duration_ms=5, error=None, excerpt="", retry_after=None)
    with mock.patch.object(sender, "post", return_value=ok) as post:
        router.process_batch([firing, firing])
        router.process_batch([firing])
    runs = api.call("GET", f"{BASE}/{job['cron_id']}/runs").data["items"]
    assert len(runs) == 1 and runs[0]["scheduled_at"] == "2026-11-28T09:00:00.000Z"
    assert runs[0]["delivery_state"] == "succeeded"
    sent_headers = [c.args[2] for c in post.call_args_list]
    assert {h["webhook-id"] for h in sent_headers} == {runs[0]["delivery_id"]}
    assert sent_headers[0]["infrai-cron-id"] == job["cron_id"]
    assert sent_headers[0]["infrai-scheduled-time"] == "2026-11-28T09:00:00.000Z"
    assert post.call_count == 1, "a duplicate firing must not POST again"


def test_paused_and_deleted_jobs_do_not_fire(api):
    from chalicelib.services.cron import cron_runs
    job = api.call("POST", BASE, JOB).data
    api.call("POST", f"{BASE}/{job['cron_id']}/pause")
    assert cron_runs.fire(job["cron_id"], "2026-11-28T09:00:00Z") == (None, None)
    api.call("DELETE", f"{BASE}/{job['cron_id']}")
    assert cron_runs.fire(job["cron_id"], "2026-11-29T09:00:00Z") == (None, None)


def test_trigger_runs_once_now(api):
    job = api.call("POST", BASE, JOB).data
    resp = api.call("POST", f"{BASE}/{job['cron_id']}/trigger")
    assert resp.status_code == 202 and resp.data["manual"] is True
    runs = api.call("GET", f"{BASE}/{job['cron_id']}/runs").data["items"]
    assert [r["delivery_id"] for r in runs] == [resp.data["delivery_id"]]


def test_posts_without_fields_take_their_idempotency_key_in_the_body_too(api):
    job = api.call("POST", BASE, JOB).data
    trigger = f"{BASE}/{job['cron_id']}/trigger"
    a = api.call("POST", trigger, {"idempotency_key": "run-once"})
    b = api.call("POST", trigger, {"idempotency_key": "run-once"})
    assert a.status_code == b.status_code == 202 and a.data == b.data
    c = api.call("POST", trigger, {"idempotency_key": "run-once"}, headers={"Idempotency-Key": "run-once"})
    assert c.data == a.data
    refused = [api.call("POST", trigger, {"idempotency_key": "x"}, headers={"Idempotency-Key": "y"}),
               api.call("POST", trigger, raw=b"[1]"), api.call("POST", trigger, raw=b"{nope"),
               api.call("POST", trigger, {"idempotency_key": "k" * 256})]
    assert [r.status_code for r in refused] == [400] * 4
    runs = api.call("GET", f"{BASE}/{job['cron_id']}/runs").data["items"]
    assert [r["delivery_id"] for r in runs] == [a.data["delivery_id"]]
    paused = [api.call("POST", f"{BASE}/{job['cron_id']}/pause", {"idempotency_key": "p-1"}) for _ in range(2)]
    assert paused[0].data == paused[1].data and paused[0].data["enabled"] is False


BAD = [
    ({**JOB, "name": ""}, "name"), ({**JOB, "name": "x" * 129}, "name"), ({**JOB, "name": 5}, "name"),
    ({**JOB, "schedule": "every day"}, "schedule"), ({**JOB, "schedule": "0 9 * * * *"}, "schedule"),
    ({**JOB, "schedule": "0 9 * * * * *"}, "schedule"), ({**JOB, "schedule": "61 9 * * *"}, "schedule"),
    ({**JOB, "schedule": ""}, "schedule"), ({k: v for k, v in JOB.items() if k != "schedule"}, "schedule"),
    ({**JOB, "timezone": "Mars/Base"}, "timezone"), ({**JOB, "timezone": ""}, "timezone"),
    ({**JOB, "queue": "q1"}, "url"), ({k: v for k, v in JOB.items() if k != "url"}, "queue"),
    ({**JOB, "retries": 21}, "retries"), ({**JOB, "retries": -1}, "retries"),
    ({**JOB, "timeout_seconds": 0}, "timeout_seconds"), ({**JOB, "timeout_seconds": 10000}, "timeout_seconds"),
    ({**JOB, "url": "ftp://x.example.com"}, "url"), ({**JOB, "enabled": "yes"}, "enabled"),
    ({**JOB, "bogus": 1}, "bogus"),
]


@pytest.mark.parametrize("body,field", BAD)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(api, body, field):
    resp = api.call("POST", BASE, body)
    assert resp.status_code == 400, resp.data
    assert resp.data["error"]["field"] == field and len(resp.data["error"]["message"]) > 15
    assert jobs_stored() == [] and schedules() == {}


def test_payload_that_is_not_json_is_a_400(api):
    resp = api.call("POST", BASE, raw=b'{"name": "x", "schedule": "0 9 * * *", "url": "https://a.example.com", "payload": {nope}}')
    assert resp.status_code == 400 and jobs_stored() == []


def test_unknown_cron_id_is_404_on_every_route(api):
    cid = "cron_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    for method, path, body in (("GET", "", None), ("PATCH", "", {"name": "x"}), ("DELETE", "", None),
                               ("POST", "/pause", None), ("POST", "/resume", None),
                               ("POST", "/trigger", None), ("GET", "/runs", None)):
        resp = api.call(method, f"{BASE}/{cid}{path}", body)
        assert resp.status_code == 404, (method, path)
        assert resp.data["error"]["code"] == "not_found"
    assert api.call("GET", f"{BASE}/not-an-id").status_code == 404


def test_a_firing_that_died_after_its_write_is_sent_by_its_redelivery_or_failed_visibly(api):
    """The first firing crashed after writing its run and delivery but before sending. Its own
    SQS message, redelivered, sends it; another copy of the firing (Scheduler may send two)
    sends nothing. If SQS gives up on it instead (the dead-letter queue), the reconcile
    function's sweep fails its delivery visibly, and a replay sends it. Once either way."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.aws import clients, dispatch
    from chalicelib.services.cron import cron_runs
    from chalicelib.services.deliver import router
    firing_at = "2026-11-28T09:00:00Z"
    ok = sender.AttemptResult(status=200, duration_ms=5, error=None, excerpt="", retry_after=None)
    for way in ("redelivery", "dead letter"):
        job = api.call("POST", BASE, JOB).data
        delivery_id, work = cron_runs.fire(job["cron_id"], firing_at, message_id="sqs-1")   # then "crash"
        assert work is not None
        firing = json.dumps({"cron": job["cron_id"], "at": firing_at})
        with mock.patch.object(sender, "post", return_value=ok) as post:
            router.process_batch([firing], message_ids=["sqs-2"])      # a duplicate firing
            assert post.call_count == 0
            if way == "redelivery":
                router.process_batch([firing], message_ids=["sqs-1"])
            else:
                clients.sqs().send_message(QueueUrl=dispatch.dead_letter_queue_url(), MessageBody=firing)
                assert reconcile_after(0) == {"poison": 1}
                assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{delivery_id}").data["state"] == "failed"
                api.call("POST", f"/v1/scheduling/webhook/deliveries/{delivery_id}/retry", {})
                drain()
            assert post.call_count == 1, way
            assert reconcile_after(7 * 86400) == {}, "delivered: nothing is owed"
        state = api.call("GET", f"/v1/scheduling/webhook/deliveries/{delivery_id}").data["state"]
        assert state == "succeeded", way


def test_a_delete_racing_a_patch_leaves_no_schedule_behind(api, monkeypatch):
    """PATCH wrote its record; DELETE then ran to the end (schedules dropped, record gone);
    PATCH's schedule write came after, re-creating a schedule for a deleted job. PATCH sees the
    job gone and takes its schedule away again: a deleted job never fires."""
    from chalicelib.aws import scheduler
    from chalicelib.services.cron import cron
    job = api.call("POST", BASE, JOB).data
    pid = api.call("GET", "/v1/auth/me").data["project_id"]
    real = scheduler.put
    raced = []

    def put_after_a_delete(*a, **k):
        if not raced:
            raced.append(1)
            cron.delete(pid, job["cron_id"])
        return real(*a, **k)
    monkeypatch.setattr(scheduler, "put", put_after_a_delete)
    resp = api.call("PATCH", f"{BASE}/{job['cron_id']}", {"schedule": "0 10 * * *"})
    assert raced and resp.status_code == 404
    assert schedules() == {} and jobs_stored() == []
    assert reconcile_after(3600) == {}
