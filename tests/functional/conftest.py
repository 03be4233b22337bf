"""Functional tests: the Chalice app through chalice.test.Client, AWS through moto (in process)."""
import json
import os

import pytest
from moto import mock_aws

from tests import schema_check


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("INFRAI_ALLOW_PRIVATE_TARGETS", "1")
    from chalicelib.aws import clients, dispatch
    with mock_aws():
        clients.reset()
        dispatch.reset()
        from local import provision
        provision.provision()
        yield
        clients.reset()
        dispatch.reset()


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app
    with Client(app) as c:
        yield c


@pytest.fixture
def project(aws):
    from chalicelib.services import projects
    return projects.create_project()


class Api:
    """JSON in, JSON out, with the project's key."""

    def __init__(self, client, api_key):
        self.client, self.key = client, api_key

    def call(self, method, path, body=None, headers=None, raw=None):
        h = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        resp = getattr(self.client.http, method.lower())(path, headers=h, body=data)
        resp.data = json.loads(resp.body) if resp.body else None
        schema_check.check(method, path, resp.status_code, resp.data)   # fails the test on a mismatch
        return resp


@pytest.fixture
def api(client, project):
    return Api(client, project["api_key"])


def dispatch_messages():
    """Every message on the dispatch queue, read and left alone (visibility 0)."""
    from chalicelib.aws import clients, dispatch
    sqs = clients.sqs()
    msgs = sqs.receive_message(QueueUrl=dispatch.dispatch_queue_url(), MaxNumberOfMessages=10,
                               VisibilityTimeout=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in msgs]


def drain(rounds: int = 20) -> int:
    """What the deliver function's event source does, in process: receive what is visible on the
    dispatch queue, run it through the handler's code, delete what it did not report failed.
    Returns how many messages were handled."""
    from chalicelib.aws import clients, dispatch
    from chalicelib.services import attempts
    sqs, handled = clients.sqs(), 0
    for _ in range(rounds):
        msgs = sqs.receive_message(QueueUrl=dispatch.dispatch_queue_url(), MaxNumberOfMessages=10,
                                   VisibilityTimeout=60).get("Messages", [])
        if not msgs:
            return handled
        out = attempts.process_batch([m["Body"] for m in msgs], message_ids=[m["MessageId"] for m in msgs])
        failed = {f["itemIdentifier"] for f in out["batchItemFailures"]}
        for m in msgs:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=dispatch.dispatch_queue_url(), ReceiptHandle=m["ReceiptHandle"])
        handled += len(msgs)
    return handled


def reconcile_after(seconds: float) -> dict:
    """The reconciler's run as it would be `seconds` from now (markers due by then fall due)."""
    from chalicelib.core import clock
    from chalicelib.services import reconciler
    return reconciler.run(now=clock.now() + seconds)
