"""A failed or throttled DynamoDB write during an attempt: the message comes back, the delivery
is not marked succeeded, and the attempt is recorded once when it finally goes through."""
import json
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from chalicelib import sender
from chalicelib.aws import store
from chalicelib.services import attempts, webhooks

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
            attempts.process_batch([json.dumps(work)])      # the batch fails: SQS will redeliver it
        record = webhooks.get(pid, d["delivery_id"])
        assert record["state"] == "queued" and record["attempt_count"] == 0, "not marked succeeded"
        monkeypatch.setattr(store, "update", real_update)
        monkeypatch.setattr(store, "get_many", real_get_many)
        attempts.process_batch([json.dumps(work)])          # the redelivery
        attempts.process_batch([json.dumps(work)])          # and a late duplicate of it
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
        out = attempts.process_batch(["not json", json.dumps({"d": 1}), json.dumps(work)])
    assert out["outcomes"] == ["unreadable", "unreadable", "succeeded"]
    dlq = clients.sqs().receive_message(QueueUrl=dispatch.dead_letter_queue_url(), MaxNumberOfMessages=10)
    assert len(dlq["Messages"]) == 2
    assert webhooks.get(pid, d["delivery_id"])["state"] == "succeeded"
