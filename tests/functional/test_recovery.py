"""The local stack's state across restarts, against moto in process: the snapshot keeps every
record exactly (local/state.py), and recovery rebuilds what moto loses with its memory, the
dispatch queue's waiting work and the Scheduler's schedules (chalicelib/services/repair/recovery.py)."""
import json
import os
import stat

import pytest

from chalicelib import config
from chalicelib.aws import clients, dispatch, keys, store
from chalicelib.core import clock
from chalicelib.services.deliver import router
from chalicelib.services.repair import recovery
from local import provision, state

from .conftest import dispatch_messages

W, Q, C = "/v1/scheduling/webhook", "/v1/scheduling/queue", "/v1/scheduling/cron"


@pytest.fixture(autouse=True)
def _not_the_functions_operations(monkeypatch):
    """Recovery runs with the operator's credentials (the local stack at start, or by hand on
    AWS), never inside the deployed functions: its dynamodb:Scan is deliberately not in their
    least-privilege policy, so it is kept out of the operations log tests/deploy checks."""
    monkeypatch.delenv("INFRAI_OPS_LOG", raising=False)


def scan_all() -> dict[str, list]:
    """Every item of both tables in DynamoDB's own format, in key order."""
    out = {}
    for table in (config.table_name(), config.idempotency_table_name()):
        items = []
        for page in clients.dynamodb().get_paginator("scan").paginate(TableName=table):
            items += page["Items"]
        out[table] = sorted(items, key=lambda i: json.dumps({k: i[k] for k in ("pk", "sk", "id") if k in i},
                                                             sort_keys=True))
    return out


def forget_everything():
    """What a restart of moto does: empty tables, an empty dispatch queue, no schedules."""
    ddb, sched = clients.dynamodb(), clients.scheduler()
    for table in (config.table_name(), config.idempotency_table_name()):
        ddb.delete_table(TableName=table)
    clients.sqs().purge_queue(QueueUrl=dispatch.dispatch_queue_url())
    for s in sched.list_schedules(GroupName=config.schedule_group())["Schedules"]:
        sched.delete_schedule(Name=s["Name"], GroupName=config.schedule_group())
    provision.provision()


def schedules() -> dict[str, dict]:
    sched, group = clients.scheduler(), config.schedule_group()
    return {s["Name"]: sched.get_schedule(Name=s["Name"], GroupName=group)
            for s in sched.list_schedules(GroupName=group)["Schedules"]}


def answering(monkeypatch, status):
    from chalicelib import sender
    monkeypatch.setattr(sender, "post", lambda *a, **k: sender.AttemptResult(status, 3, None, "", None))


def attempt(monkeypatch, delivery_id, n, status):
    """Run attempt n of a delivery through the deliver function's code, the receiver answering `status`."""
    answering(monkeypatch, status)
    router.process_batch([json.dumps({"d": delivery_id, "n": n, "at": 0})])
    return store.get(*keys.delivery(delivery_id))


def webhook(api, **extra):
    resp = api.call("POST", f"{W}/send", {"url": "https://hooks.example.com/x", "payload": {"a": 1}, **extra})
    assert resp.status_code == 202, resp.data
    return resp.data["delivery_id"]


def publish(api, queue, **extra):
    resp = api.call("POST", f"{Q}/publish", {"queue": queue, "payload": {"q": queue}, **extra})
    assert resp.status_code == 202, resp.data
    return resp.data["message_id"]


@pytest.fixture
def every_kind(api, project, monkeypatch):
    """A project with one of each record the service writes, in each state that matters."""
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "60")   # the retry stays invisible however slow the run
    made = {"cron_url": api.call("POST", C, {"name": "digest", "schedule": "0 9 * * *", "timezone": "Europe/London",
                                             "url": "https://hooks.example.com/digest"}).data["cron_id"],
            "cron_queue_paused": api.call("POST", C, {"name": "feed", "schedule": "0 9 1 * MON", "queue": "fed",
                                                      "timezone": "America/New_York", "enabled": False}).data["cron_id"]}
    api.call("PUT", f"{Q}/open", {"url": "https://hooks.example.com/open", "retries": 5})
    made["held"] = publish(api, "closed")
    made["delayed"] = publish(api, "open", delay_seconds=600)
    made["queued"] = webhook(api)
    made["delayed_webhook"] = webhook(api, delay_seconds=120, idempotency_key="idem-1")
    made["retrying"] = webhook(api)
    assert attempt(monkeypatch, made["retrying"], 1, 500)["state"] == "retrying"
    made["succeeded"] = webhook(api)
    assert attempt(monkeypatch, made["succeeded"], 1, 200)["state"] == "succeeded"
    made["failed"] = webhook(api, retries=0)
    assert attempt(monkeypatch, made["failed"], 1, 500)["state"] == "failed"
    made["cancelled"] = publish(api, "closed")
    assert api.call("POST", f"{Q}/messages/{made['cancelled']}/cancel").status_code == 200
    run = api.call("POST", f"{C}/{made['cron_url']}/trigger",   # a run record, its delivery, and (keyed)
                   headers={"Idempotency-Key": "idem-2"}).data        # the idempotency layer's record
    made["run_delivery"] = run["delivery_id"]
    return made


# -- the snapshot --------------------------------------------------------------------------------

def test_save_and_restore_keep_every_record_exactly(api, project, every_kind, tmp_path):
    # an expired item (moto never applies TTL) and a binary value, which JSON has no type for
    store.put({"pk": "USAGE#old", "sk": "D#1", "n": 1, "ttl": int(clock.now()) - 10})
    clients.dynamodb().put_item(TableName=config.table_name(),
                                Item={"pk": {"S": "BIN#1"}, "sk": {"S": "B"}, "raw": {"B": b"\x00\xff"},
                                      "set": {"BS": [b"\x01", b"\x02"]}})
    before = scan_all()
    assert before[config.idempotency_table_name()], "the idempotent request left a record"
    path = tmp_path / "state" / "snapshot.json"

    counts = state.save(path, {"api_key": project["api_key"]})

    assert counts == {t: len(items) - (t == config.table_name()) for t, items in before.items()}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "it holds secrets: owner only"
    assert os.listdir(path.parent) == ["snapshot.json"], "no temporary file left behind"
    forget_everything()
    assert all(not items for items in scan_all().values())

    restored = state.restore(path)

    after = scan_all()
    expected = dict(before)
    expected[config.table_name()] = [i for i in before[config.table_name()] if i["pk"]["S"] != "USAGE#old"]
    assert after == expected, "every item back, attribute for attribute, type for type"
    assert restored.counts == counts and restored.total == sum(counts.values())
    assert restored.meta == {"api_key": project["api_key"]} and restored.saved_at <= clock.now()
    # and the service reads it all back through the API
    assert api.call("GET", f"{C}/{every_kind['cron_url']}").data["timezone"] == "Europe/London"
    assert api.call("GET", f"{Q}/open").data["url"] == "https://hooks.example.com/open"
    assert api.call("GET", f"{Q}/messages/{every_kind['held']}").data["state"] == "held"
    assert api.call("GET", f"{W}/deliveries/{every_kind['retrying']}").data["attempt_count"] == 1
    same = api.call("POST", f"{W}/send", {"url": "https://hooks.example.com/x", "payload": {"a": 1},
                                         "delay_seconds": 120, "idempotency_key": "idem-1"})
    assert same.data["delivery_id"] == every_kind["delayed_webhook"], "idempotency survives too"


def test_a_second_save_replaces_the_first_atomically(aws, tmp_path):
    path = tmp_path / "snapshot.json"
    state.save(path)
    store.put({"pk": "X#1", "sk": "X", "v": 1})
    state.save(path)
    assert os.listdir(tmp_path) == ["snapshot.json"]
    assert any(i["pk"] == {"S": "X#1"} for i in json.loads(path.read_text())["tables"][config.table_name()])


def test_no_file_is_a_fresh_start_and_a_bad_file_refuses_to_start(aws, tmp_path):
    assert state.restore(tmp_path / "missing.json").total == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "infrai-local-state/1", "tables": {')   # cut short
    with pytest.raises(state.SnapshotError, match="Move the file away"):
        state.restore(bad)


# -- requeue -------------------------------------------------------------------------------------

def test_requeue_sends_exactly_the_waiting_deliveries_never_early(api, every_kind, monkeypatch):
    clients.sqs().purge_queue(QueueUrl=dispatch.dispatch_queue_url())     # what moto forgets
    sent, sent_at = [], []
    real = dispatch.enqueue_many
    monkeypatch.setattr(dispatch, "enqueue_many",
                        lambda works: (sent.extend(works), sent_at.append(clock.now()), real(works)))
    records = {k: store.get(*keys.delivery(v)) for k, v in every_kind.items() if not k.startswith("cron")}
    started = clock.now()

    assert recovery.requeue_pending() == 5

    waiting = {"queued", "delayed", "delayed_webhook", "retrying", "run_delivery"}
    assert {w["d"] for w, _ in sent} == {records[k]["delivery_id"] for k in waiting}
    for work, wait in sent:
        record = next(r for r in records.values() if r["delivery_id"] == work["d"])
        assert work["n"] == record["attempt_count"] + 1
        assert work["at"] == record["next_attempt_at"]
        assert sent_at[0] + dispatch.hop_delay(wait) >= work["at"], "never early, however long it took"
        assert dispatch.hop_delay(wait) <= max(0, work["at"] - started) + 1, "and not needlessly late"
    assert {w["d"]: w["n"] for w, _ in sent}[every_kind["retrying"]] == 2
    # SQS agrees: only what is due now is visible; the delays (retry 48-72 s, 120 s, 600 s) hold
    visible = {m["d"] for m in dispatch_messages()}
    assert visible == {every_kind["queued"], every_kind["run_delivery"]}
    assert store.get(*keys.delivery(every_kind["held"]))["state"] == "held", "held stays held"


def test_a_requeued_attempt_is_made_once_even_when_sent_twice(api, monkeypatch):
    d = webhook(api)
    clients.sqs().purge_queue(QueueUrl=dispatch.dispatch_queue_url())
    recovery.requeue_pending()
    recovery.requeue_pending()              # recovery run twice: a duplicate message
    bodies = [json.dumps(m) for m in dispatch_messages()]
    assert len(bodies) == 2
    answering(monkeypatch, 200)
    router.process_batch(bodies)
    record = store.get(*keys.delivery(d))
    assert record["state"] == "succeeded" and record["attempt_count"] == 1 and len(record["attempts"]) == 1


# -- schedules -----------------------------------------------------------------------------------

def test_resync_recreates_the_schedules_with_their_expressions_zones_and_states(api):
    london = api.call("POST", C, {"name": "a", "schedule": "0 9 * * *", "timezone": "Europe/London",
                                  "url": "https://hooks.example.com/a"}).data
    either = api.call("POST", C, {"name": "b", "schedule": "30 6 1 * MON", "timezone": "America/New_York",
                                  "url": "https://hooks.example.com/b"}).data
    paused = api.call("POST", C, {"name": "c", "schedule": "*/5 * * * *", "queue": "jobs",
                                  "enabled": False}).data
    halfway = api.call("POST", C, {"name": "d", "schedule": "0 0 * * SUN", "timezone": "Asia/Tokyo",
                                   "url": "https://hooks.example.com/d"}).data
    going = api.call("POST", C, {"name": "e", "schedule": "0 1 * * *", "url": "https://hooks.example.com/e"}).data
    store.update(*keys.cron_job(halfway["cron_id"]), {"sync": "pending"})   # a change that died half-way
    store.update(*keys.cron_job(going["cron_id"]), {"sync": "deleting"})    # a delete that died half-way
    expected = {name: (s["ScheduleExpression"], s["ScheduleExpressionTimezone"], s["State"], s["Target"])
                for name, s in schedules().items() if not name.startswith(going["cron_id"])}
    assert len(either["aws_schedule_expressions"]) == 2 and len(expected) == 5
    for name in list(schedules()):
        clients.scheduler().delete_schedule(Name=name, GroupName=config.schedule_group())

    assert recovery.resync_schedules() == 4

    got = {name: (s["ScheduleExpression"], s["ScheduleExpressionTimezone"], s["State"], s["Target"])
           for name, s in schedules().items()}
    assert got == expected
    assert got[london["cron_id"]][:3] == ("cron(0 9 * * ? *)", "Europe/London", "ENABLED")
    assert [got[n][0] for n in (either["cron_id"], either["cron_id"] + "-2")] == either["aws_schedule_expressions"]
    assert got[paused["cron_id"]][2] == "DISABLED"
    assert store.get(*keys.cron_job(halfway["cron_id"]))["sync"] == "ok"
    assert store.get(*keys.cron_job(going["cron_id"])) is None, "a delete that died half-way is finished"
    assert recovery.resync_schedules() == 4 and schedules().keys() == got.keys(), "twice changes nothing"


def test_resync_drops_a_second_schedule_the_job_no_longer_needs(api):
    job = api.call("POST", C, {"name": "b", "schedule": "30 6 1 * MON", "url": "https://hooks.example.com/b"}).data
    record = store.get(*keys.cron_job(job["cron_id"]))
    # the record now says one expression, but the schedule of the old second one survived a crash
    store.put({**record, "schedule": "30 6 * * MON", "aws_expressions": ["cron(30 6 ? * MON *)"], "sync": "pending"})
    recovery.resync_schedules()
    assert set(schedules()) == {job["cron_id"]}


# -- held messages -------------------------------------------------------------------------------

def test_release_frees_held_messages_only_of_queues_that_accept(api):
    interrupted = publish(api, "opened")
    stays = publish(api, "no-endpoint")
    paused = publish(api, "paused")
    api.call("PUT", f"{Q}/paused", {"url": "https://hooks.example.com/p", "paused": True})
    # an endpoint was attached but the release died before it ran
    store.update(*keys.queue(api_project(api), "opened"), {"url": "https://hooks.example.com/o"})

    assert recovery.release_held() == 1

    assert [m["d"] for m in dispatch_messages()] == [interrupted]
    assert store.get(*keys.delivery(interrupted))["state"] == "queued"
    assert store.get(*keys.delivery(stays))["state"] == "held"
    assert store.get(*keys.delivery(paused))["state"] == "held"


def test_recover_does_it_all_from_one_scan(api, every_kind, monkeypatch):
    clients.sqs().purge_queue(QueueUrl=dispatch.dispatch_queue_url())
    scans = []
    real = clients.dynamodb().scan
    monkeypatch.setattr(clients.dynamodb(), "scan", lambda **kw: (scans.append(kw), real(**kw))[1])
    assert recovery.recover() == {"schedules": 2, "requeued": 5, "released": 0}
    assert len(scans) == 1


def test_after_a_restore_recovery_works_from_the_items_loaded_without_a_scan(api, every_kind, tmp_path,
                                                                             monkeypatch):
    path = tmp_path / "snapshot.json"
    state.save(path)
    forget_everything()
    restored = state.restore(path)
    scans = []
    real = clients.dynamodb().scan
    monkeypatch.setattr(clients.dynamodb(), "scan", lambda **kw: (scans.append(kw), real(**kw))[1])

    assert recovery.recover(restored.items[config.table_name()]) == {"schedules": 2, "requeued": 5, "released": 0}

    assert scans == []
    assert set(schedules()) == {every_kind["cron_url"], every_kind["cron_queue_paused"],
                                every_kind["cron_queue_paused"] + "-2"}
    assert {m["d"] for m in dispatch_messages()} == {every_kind["queued"], every_kind["run_delivery"]}


def api_project(api) -> str:
    return api.call("GET", "/v1/auth/me").data["project_id"]
