"""A failed or throttled DynamoDB write during an attempt: the message comes back, the delivery
is not marked succeeded, and the attempt is recorded once when it finally goes through."""
import json
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from chalicelib import sender
from chalicelib.aws import store
from chalicelib.services.deliver import attempts, router
from chalicelib.services.webhooks import webhooks

from .conftest import dispatch_messages

OK = sender.AttemptResult(status=200, duration_ms=3, error=None, excerpt="ok", retry_after=None)


def throttled(*a, **k):
    raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                      "UpdateItem")


@pytest.mark.parametrize("where", ["record", "read"])
def test_a_dynamodb_failure_during_an_attempt_is_retried_not_lost(aws, project, monkeypatch, where):
    pid = project["project_id"]
    d = webhooks.send(pid, {"url": "https://hooks.example.com/", "payload": {"a": 1}}, None)
    [work] = dispatch_messages()
    real_update, real_get_many = store.update, store.get_many
    if where == "record":
        monkeypatch.setattr(store, "update", lambda pk, sk, sets, **kw:
                            throttled() if "attempts" in sets else real_update(pk, sk, sets, **kw))
    else:
        monkeypatch.setattr(store, "get_many", throttled)
    with mock.patch.object(sender, "post", return_value=OK) as post:
        with pytest.raises(ClientError):
            router.process_batch([json.dumps(work)])      # the batch fails: SQS will redeliver it
        record = webhooks.get(pid, d["delivery_id"])
        assert record["state"] == "queued" and record["attempt_count"] == 0, "not marked succeeded"
        monkeypatch.setattr(store, "update", real_update)
        monkeypatch.setattr(store, "get_many", real_get_many)
        router.process_batch([json.dumps(work)])          # the redelivery
        router.process_batch([json.dumps(work)])          # and a late duplicate of it
    record = webhooks.get(pid, d["delivery_id"])
    assert record["state"] == "succeeded" and record["attempt_count"] == 1
    assert post.call_count == (2 if where == "record" else 1)
    assert {c.args[2]["webhook-id"] for c in post.call_args_list} == {d["delivery_id"]}


def test_an_unreadable_message_goes_to_the_dlq_without_sinking_its_batch(aws, project):
    from chalicelib.aws import clients, dispatch
    pid = project["project_id"]
    d = webhooks.send(pid, {"url": "https://hooks.example.com/", "payload": {}}, None)
    [work] = dispatch_messages()
    with mock.patch.object(sender, "post", return_value=OK):
        out = router.process_batch(["not json", json.dumps({"d": 1}), json.dumps(work)])
    assert out["outcomes"] == ["unreadable", "unreadable", "succeeded"]
    dlq = clients.sqs().receive_message(QueueUrl=dispatch.dead_letter_queue_url(), MaxNumberOfMessages=10)
    assert len(dlq["Messages"]) == 2
    assert webhooks.get(pid, d["delivery_id"])["state"] == "succeeded"


def test_the_largest_record_allowed_keeps_fitting_dynamodbs_400_kb_through_any_number_of_attempts(
        aws, monkeypatch):
    """The worst case the API accepts: a 256 KB payload, 20 headers of the longest name and
    value, a 2 KB URL; then attempt after attempt, each with a response excerpt of 4-byte
    characters and a long error, replayed again and again. moto applies DynamoDB's real 400 KB
    rule: every attempt must still be recorded (the history is bounded in bytes, not count)."""
    from chalicelib.aws import keys
    from chalicelib.services.delivery import deliveries
    from chalicelib.services.tenancy import projects
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    pid = projects.create_project(plan="unlimited")["project_id"]
    headers = {f"x-{i:02d}-" + "h" * 250: "v" * 4096 for i in range(20)}
    url = "https://hooks.example.com/" + "p" * 2000
    payload = {"blob": "é" * (128 * 1024 - 20)}            # 256 KB once encoded
    d = webhooks.send(pid, {"url": url, "payload": payload, "headers": headers, "retries": 20}, None)
    bad = sender.AttemptResult(status=500, duration_ms=3, error="upstream said no: " + "e" * 2000,
                               excerpt="😀" * 2000, retry_after=None)
    recorded = 0
    with mock.patch.object(sender, "post", return_value=bad):
        for _ in range(4):                                   # 84 attempts in all
            while True:
                record = store.get(*keys.delivery(d["delivery_id"]))
                if record["state"] == "failed":
                    break
                router.process_batch([json.dumps({"d": d["delivery_id"], "n": record["attempt_count"] + 1,
                                                    "at": 0})])
                recorded += 1
                assert store.get(*keys.delivery(d["delivery_id"]))["attempt_count"] == recorded
            deliveries.replay(pid, d["delivery_id"])
    record = store.get(*keys.delivery(d["delivery_id"]))
    assert record["attempt_count"] == recorded == 84
    kept = record["attempts"]
    assert 0 < len(kept) < 84 and [a["n"] for a in kept] == list(range(85 - len(kept), 85)), "the newest kept"
    assert all(len(a["excerpt"].encode()) <= attempts.EXCERPT_BYTES for a in kept)


def test_a_conditional_write_has_one_winner_however_many_race(aws):
    """What the service relies on from DynamoDB, which moto alone does not give (local/moto_atomic.py)."""
    from concurrent.futures import ThreadPoolExecutor
    item = {"pk": "RACE#1", "sk": "RACE", "v": 1}

    def put(i):
        try:
            store.put({**item, "v": i}, condition="attribute_not_exists(pk)")
            return True
        except store.ConditionFailed:
            return False
    for _ in range(5):
        store.delete(item["pk"], item["sk"])
        with ThreadPoolExecutor(16) as pool:
            assert sum(pool.map(put, range(64))) == 1
