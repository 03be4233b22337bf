"""Expunge (issue 23, item 3): `POST /v1/auth/project/expunge` deletes every item of a project —
deliveries, cron jobs with their runs and schedules, queues, flows, endpoints, replay jobs,
counters, the events endpoint, its keys and the project — as a job of steps on the dispatch
queue, with an exact report readable by the retired keys; another project is untouched; a step
killed at any of its writes and run again finishes the job with the same result."""
import json

import pytest

from chalicelib import config
from chalicelib.aws import clients, dispatch, scheduler, store
from chalicelib.services.expunge import expunge, sweep
from chalicelib.services.tenancy import projects

from .conftest import Api, drain, reconcile_after

EXPUNGE = "/v1/auth/project/expunge"
SEND = "/v1/scheduling/webhook/send"


@pytest.fixture(autouse=True)
def no_waits(monkeypatch):
    """The waits (keys trusted by other instances, deliveries ending in flight) are real time on
    SQS; here they are none, and their order is checked in test_the_waits_are_kept."""
    monkeypatch.setattr(expunge, "REVOKE_GRACE", 0)
    monkeypatch.setitem(sweep.PHASES, "deliveries", 0)
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")


def table() -> list[dict]:
    return [store.from_raw(i) for i in clients.dynamodb().scan(TableName=config.table_name(), ConsistentRead=True)["Items"]]


def items_of(project_id: str) -> dict:
    """Every item that names the project anywhere (its id in a key, an index key or a field), and
    the items sharing a partition with one (a replay job's markers)."""
    items = table()
    named = {(i["pk"], i["sk"]): i for i in items if project_id in json.dumps(i, default=repr)}
    partitions = {pk for pk, _ in named if not pk.startswith(("KEY#", "EXPUNGE#"))}
    return {**named, **{(i["pk"], i["sk"]): i for i in items if i["pk"] in partitions}}


def schedules() -> set[str]:
    out = clients.scheduler().list_schedules(GroupName=config.schedule_group())["Schedules"]
    return {s["Name"] for s in out}


def populate(api: Api, receiver, tag: str) -> dict:
    """One of everything a project can have, settled (nothing left on the dispatch queue)."""
    receiver.script(f"/{tag}/down", [500])
    api.call("PUT", "/v1/scheduling/events", {"url": receiver.url(f"/{tag}/events")})
    api.call("PUT", "/v1/scheduling/flows/partner", {"rate_limit": {"count": 100, "period_seconds": 1}})
    ok = api.call("POST", SEND, {"url": receiver.url(f"/{tag}/ok"), "payload": {"n": 1}, "flow_key": "partner"})
    down = api.call("POST", SEND, {"url": receiver.url(f"/{tag}/down"), "payload": {"n": 2}, "retries": 0})
    api.call("PUT", "/v1/scheduling/queue/work", {"url": receiver.url(f"/{tag}/work"), "rate_limit":
                                                   {"count": 100, "period_seconds": 1}})
    api.call("POST", "/v1/scheduling/queue/publish", {"queue": "work", "payload": {"n": 3}})
    api.call("POST", "/v1/scheduling/queue/publish", {"queue": "parked", "payload": {"n": 4}})   # held
    api.call("POST", SEND, {"url": receiver.url(f"/{tag}/ok"), "payload": {"blob": "x7Q" * 700 + tag}})  # inline
    import base64
    import os
    big = base64.b64encode(os.urandom(3000)).decode()          # a payload with its own item
    api.call("POST", SEND, {"url": receiver.url(f"/{tag}/ok"), "payload": {"big": big}})
    batch = api.call("POST", "/v1/scheduling/queue/publish-batch",   # two messages behind one list entry
                     {"messages": [{"queue": "work", "payload": {"n": 5}}, {"queue": "work", "payload": {"n": 6}}]})
    assert batch.status_code in (200, 202) and batch.data["accepted"] == 2, batch.data
    job = api.call("POST", "/v1/scheduling/cron", {"name": "nightly", "schedule": "0 3 * * *",
                                                   "url": receiver.url(f"/{tag}/cron"), "catch_up_window_seconds": 3600})
    assert job.status_code == 201, job.data
    api.call("POST", f"/v1/scheduling/cron/{job.data['cron_id']}/trigger")
    api.call("POST", "/v1/auth/keys")
    drain()
    replay = api.call("POST", "/v1/scheduling/deliveries/replay", {})
    assert replay.status_code == 202, replay.data
    drain()
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{down.data['delivery_id']}").data["state"] == "failed"
    return {"cron_id": job.data["cron_id"], "ok": ok.data["delivery_id"], "down": down.data["delivery_id"]}


@pytest.fixture
def two(client, api, receiver):
    """Project A (the `api` fixture's, to expunge) and project B (a witness), both full."""
    other = projects.create_project()
    b = Api(client, other["api_key"])
    a_ids = populate(api, receiver, "a")
    b_ids = populate(b, receiver, "b")
    return api, b, a_ids, b_ids, other


def expected_report(project_id: str) -> dict:
    """What the report should count: every item naming the project, but the keys' own records
    (retired, not deleted) and the request-id reservations (keyed by a hash: left to expire)."""
    out = dict.fromkeys(sweep.COUNTED, 0)
    for (pk, sk) in items_of(project_id):
        if not pk.startswith("KEY#"):
            out[sweep.category(pk, sk)] += 1
    return out


def run_job(project_id: str, rounds: int = 400, resume=None) -> dict:
    """The deliver function's rounds until the job ends; when no task is left (lost, or sent to
    the DLQ after 5 receives), the reconciler's run a marker's time later (or `resume()`)."""
    for _ in range(rounds):
        job = store.get(*expunge._key(project_id))
        if job["state"] == "completed":
            return job
        if not drain(rounds=1):
            (resume or (lambda: reconcile_after(expunge.STEP_RECHECK + 60)))()
    raise AssertionError("the expunge did not finish")


def test_confirm_must_name_the_project(api, project):
    for raw, field in ((b"{}", "confirm"), (b'{"confirm": "proj_01ARZ3NDEKTSV4RRFFQ69G5FAV"}', "confirm"),
                       (b'{"confirm": null}', "confirm"), (b'{"confirm": 7}', "confirm"),
                       (b'{"confirm": "x", "force": true}', "force"), (b"[]", None), (b"", None)):
        resp = api.call("POST", EXPUNGE, raw=raw)
        assert resp.status_code == 400 and resp.data["error"]["field"] == field, (raw, resp.data)
    assert api.call("GET", EXPUNGE).status_code == 404
    assert api.call("GET", "/v1/auth/me").status_code == 200, "nothing happened"
    assert dispatch_is_empty()


def dispatch_is_empty() -> bool:
    return not clients.sqs().receive_message(QueueUrl=dispatch.dispatch_queue_url(), VisibilityTimeout=0).get("Messages")


def test_expunge_removes_everything_of_the_project_and_nothing_of_another(two):
    a, b, a_ids, b_ids, other = two
    pid = a.call("GET", "/v1/auth/me").data["project_id"]
    before_a, before_b = items_of(pid), items_of(other["project_id"])
    kinds = {sweep.category(pk, sk) for pk, sk in before_a}
    assert {"deliveries", "cron_jobs", "cron_runs", "queues", "flows", "endpoints", "replays", "api_keys"} <= kinds
    assert any(sk == "WATCH" for _, sk in before_a) and any(sk == "EVENTS" for _, sk in before_a)
    assert any(a_ids["cron_id"] in name for name in schedules())
    want = expected_report(pid)

    started = a.call("POST", EXPUNGE, {"confirm": pid})
    assert started.status_code == 202 and started.data["state"] == "running", started.data
    me = a.call("GET", "/v1/auth/me")
    assert me.status_code == 401 and "expunged" in me.data["error"]["message"]
    assert a.call("POST", "/v1/auth/keys").status_code == 401
    assert a.call("GET", EXPUNGE).data["state"] == "running"
    again = a.call("POST", EXPUNGE, {"confirm": pid})     # a retry: the same job
    assert again.status_code == 202 and again.data["started_at"] == started.data["started_at"]

    job = run_job(pid)
    report = a.call("GET", EXPUNGE)
    assert report.status_code == 200 and report.data["state"] == "completed" and report.data["finished_at"]
    want["other"] += 2   # the two expunge requests' own audit entries (the audit log is swept too)
    assert report.data["deleted"] == want, "every item counted once, by kind"
    left = items_of(pid)
    assert set(left) == {expunge._key(pid)} | {k for k in before_a if k[0].startswith("KEY#")}, \
        "only the report and the retired keys remain"
    assert all(i.get("expunged_at") and i["ttl"] <= job["ttl"] + 5 for k, i in left.items() if k[0].startswith("KEY#"))
    assert not any(a_ids["cron_id"] in name for name in schedules()), "its schedules are deleted"
    assert any(b_ids["cron_id"] in name for name in schedules())
    assert items_of(other["project_id"]) == before_b, "the other project is untouched"
    assert b.call("GET", "/v1/auth/me").status_code == 200
    assert b.call("GET", f"/v1/scheduling/webhook/deliveries/{b_ids['ok']}").data["state"] == "succeeded"
    # the retired key reads the report and nothing else; a project's keys can't start another
    assert a.call("GET", "/v1/scheduling/cron").status_code == 401
    assert a.call("POST", EXPUNGE, {"confirm": pid}).data["finished_at"] == report.data["finished_at"]
    assert dispatch_is_empty()


def test_a_step_killed_at_any_write_is_finished_by_its_retry(two, monkeypatch):
    """Every write of every step (DynamoDB writes, Scheduler deletes, SQS sends) raises the first
    time it is reached; SQS gives the step's message back and it runs again. The job still ends
    with the exact report and removes everything, and nothing of the other project."""
    a, b, a_ids, b_ids, other = two
    pid = a.call("GET", "/v1/auth/me").data["project_id"]
    before_a, before_b, want = items_of(pid), items_of(other["project_id"]), expected_report(pid)
    assert a.call("POST", EXPUNGE, {"confirm": pid}).status_code == 202
    monkeypatch.setattr(sweep, "THREADS", 1)
    monkeypatch.setattr(sweep, "PAGE", 7)    # many steps: a crash in a page, between pages, in each phase
    crashed, calls = set(), []

    def killing(name, fn, key_of):
        def write(*args, **kwargs):
            key = (name, key_of(*args, **kwargs))
            calls.append(key)
            if key not in crashed:
                crashed.add(key)
                raise RuntimeError(f"killed at {key}")
            return fn(*args, **kwargs)
        return write

    monkeypatch.setattr(store, "delete", killing("delete", store.delete, lambda pk, sk, **kw: (pk, sk)))
    monkeypatch.setattr(store, "update", killing(
        "update", store.update, lambda pk, sk, sets, **kw: (pk, sk, tuple(sorted(sets)), repr(kw.get("values")))))
    monkeypatch.setattr(store, "put", killing("put", store.put, lambda item, **kw: (item["pk"], item["sk"])))
    monkeypatch.setattr(scheduler, "delete", killing("schedule", scheduler.delete, lambda name: name))
    monkeypatch.setattr(dispatch, "enqueue", killing("enqueue", dispatch.enqueue, lambda work, wait=0.0: json.dumps(work)))
    def resume():   # what the reconciler does with the job's marker (and only that: B stays as it is)
        try:
            expunge.on_due(store.get(*expunge._key(pid)))
        except RuntimeError:
            pass        # killed too: the next tick tries again

    job = run_job(pid, rounds=3000, resume=resume)
    assert len(crashed) > 50 and {c[0] for c in crashed} >= {"delete", "update", "schedule", "enqueue"}, crashed
    want["other"] += 1   # the expunge request's own audit entry (the audit log is swept too)
    assert expunge.view(job)["deleted"] == want
    assert set(items_of(pid)) == {expunge._key(pid)} | {k for k in before_a if k[0].startswith("KEY#")}
    assert not any(a_ids["cron_id"] in name for name in schedules())
    assert items_of(other["project_id"]) == before_b


def test_a_lost_step_is_resumed_by_the_reconciler(api, project):
    pid = project["project_id"]
    api.call("POST", "/v1/scheduling/queue/publish", {"queue": "q", "payload": {}})
    assert api.call("POST", EXPUNGE, {"confirm": pid}).status_code == 202
    clients.sqs().purge_queue(QueueUrl=dispatch.dispatch_queue_url())   # the step's message is lost
    assert drain() == 0
    assert store.get(*expunge._key(pid))["state"] == "running"
    job = run_job(pid)
    assert job["deleted"]["queues"] == 1 and job["deleted"]["deliveries"] == 1
    assert "gsi3pk" not in job, "an ended job carries no marker"


def test_the_waits_are_kept(api, project, monkeypatch):
    """After the keys are revoked the walk waits until no API instance trusts them; after the
    deliveries, as long as a delivery in flight may take to end and make its callback."""
    monkeypatch.setattr(expunge, "REVOKE_GRACE", 65)
    monkeypatch.setitem(sweep.PHASES, "deliveries", 390)
    pid = project["project_id"]
    api.call("POST", EXPUNGE, {"confirm": pid})
    drain()
    job = store.get(*expunge._key(pid))
    assert job["revoked"] and job["state"] == "running" and job["phase"] == 0
    assert 60 <= job["not_before"] - job["updated_at"] <= 66
    assert expunge.continue_expunge({"p": pid, "s": job["step"]}) == "expunge waiting"   # early: sent back
    monkeypatch.setattr(expunge, "REVOKE_GRACE", 0)
    store.update(*expunge._key(pid), {"not_before": None})
    assert expunge.continue_expunge({"p": pid, "s": job["step"]}) == "expunge step"
    job = store.get(*expunge._key(pid))
    assert sweep.NAMES[job["phase"]] == "stragglers" and job["not_before"] - job["updated_at"] >= 389


def test_a_key_cannot_be_made_once_an_expunge_began(api, project):
    cached = projects.authenticate(f"Bearer {project['api_key']}")   # another instance still trusts it
    assert cached == project["project_id"]
    expunge.start(project["project_id"], {"confirm": project["project_id"]})
    with pytest.raises(Exception) as e:
        projects.add_key(project["project_id"])
    assert "expunged" in str(e.value)


def test_the_local_stacks_key_gets_a_new_project_after_an_expunge(aws):
    key = projects.new_api_key()
    first = projects.ensure_project_for_key(key)
    expunge.start(first, {"confirm": first})
    drain()
    second = projects.ensure_project_for_key(key)
    assert second != first and projects.authenticate(f"Bearer {key}") == second
