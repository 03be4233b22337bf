"""Functional tests: the Chalice app through chalice.test.Client, AWS through moto (in process)."""
import json
import time

import pytest

from chalicelib.core import clock

from tests import schema_check
from tests.mocked_aws import mocked_aws


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("INFRAI_ALLOW_PRIVATE_TARGETS", "1")
    from chalicelib.core import due
    # 64 shards are the deployment's scale figure (core/due.py); every reconciler run queries each,
    # and these tests run it thousands of times: 8 exercise the same code at an eighth of the cost
    monkeypatch.setattr(due, "SHARDS", 8)
    from local import moto_atomic
    moto_atomic.install()     # conditional writes atomic under concurrency, as on AWS
    with mocked_aws(monkeypatch):
        yield


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app
    with Client(app) as c:
        yield c


@pytest.fixture
def project(aws):
    from chalicelib.services.tenancy import projects
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


T0 = 1_800_000_000.0   # an injected clock's start (2027-01-15)


@pytest.fixture
def fake_time():
    """An injected clock; the limiter's short waits move it instead of sleeping."""
    t = [T0]
    clock.set_clock(lambda: t[0])
    clock.set_sleeper(lambda s: t.__setitem__(0, t[0] + s))
    yield t
    clock.set_clock(None)
    clock.set_sleeper(None)


@pytest.fixture
def offset():
    """Real time plus a jump the test makes (moto's SQS delays run on real time)."""
    o = [0.0]
    clock.set_clock(lambda: time.time() + o[0])
    yield o
    clock.set_clock(None)


@pytest.fixture
def receiver(project):
    """A real HTTP receiver on 127.0.0.1, verifying signatures with the project's secret."""
    from chalicelib.services.tenancy import projects

    from tests.receiver import Receiver
    r = Receiver()
    r.secret = projects.current_secret(project["project_id"])
    yield r
    r.stop()


def dispatch_messages():
    """Every message on the dispatch queue, read and left alone (visibility 0)."""
    from chalicelib.aws import clients, dispatch
    sqs = clients.sqs()
    msgs = sqs.receive_message(QueueUrl=dispatch.dispatch_queue_url(), MaxNumberOfMessages=10,
                               VisibilityTimeout=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in msgs]


def receive_work(visibility: int = 600) -> list[dict]:
    from chalicelib.aws import clients, dispatch
    return clients.sqs().receive_message(QueueUrl=dispatch.dispatch_queue_url(), MaxNumberOfMessages=10,
                                         VisibilityTimeout=visibility, AttributeNames=["All"]).get("Messages", [])


def come_back(msgs) -> None:
    """What SQS does with a message that was not deleted: visible again (on AWS after the
    visibility timeout; here at once)."""
    from chalicelib.aws import clients, dispatch
    for m in msgs:
        clients.sqs().change_message_visibility(QueueUrl=dispatch.dispatch_queue_url(),
                                                ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)


def run_round(msgs) -> None:
    """The deliver function's event source over one batch: run the handler's code, delete what
    it did not report failed, give the rest back."""
    from chalicelib.aws import clients, dispatch
    from chalicelib.services.deliver import router
    out = router.process_batch([m["Body"] for m in msgs], message_ids=[m["MessageId"] for m in msgs],
                               receive_counts=[int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)) for m in msgs],
                               receipts=[m["ReceiptHandle"] for m in msgs])
    failed = {f["itemIdentifier"] for f in out["batchItemFailures"]}
    come_back([m for m in msgs if m["MessageId"] in failed])
    for m in msgs:
        if m["MessageId"] not in failed:
            clients.sqs().delete_message(QueueUrl=dispatch.dispatch_queue_url(), ReceiptHandle=m["ReceiptHandle"])


def drain(rounds: int = 30) -> int:
    """What is visible on the dispatch queue, through the deliver function's code, round after
    round until nothing is left. Returns how many messages were handled."""
    handled = 0
    for _ in range(rounds):
        msgs = receive_work()
        if not msgs:
            break
        run_round(msgs)
        handled += len(msgs)
    return handled


def reconcile_after(seconds: float) -> dict:
    """The reconciler's run as it would be `seconds` from now (markers due by then fall due)."""
    from chalicelib.core import clock
    from chalicelib.services.repair import reconciler
    return reconciler.run(now=clock.now() + seconds)
