"""Issue 22: work that was owed only through an SQS message, or only by the process that wrote a
state change, now rides on a marker written in the same write: a circuit breaker's event, and a
bulk replay's next step."""
import json

from chalicelib.aws import clients, dispatch, keys, store
from chalicelib.core import breaker, clock
from chalicelib.services.notices import events
from chalicelib.services.replays import replays
from chalicelib.services.repair import reconciler

from .conftest import drain, receive_work
from .test_deliveries_api import REPLAY, failed_webhooks

EVENTS = "/v1/scheduling/events"


def test_a_breaker_that_dies_before_telling_tells_at_its_probe(api, project, receiver, monkeypatch):
    api.call("PUT", EVENTS, {"url": receiver.url("/events")})
    receiver.script("/down", [500])
    real = events.emit

    def dies(project_id, event_type, data, **kw):
        if event_type == "endpoint.held":
            raise RuntimeError("the process died here")
        return real(project_id, event_type, data, **kw)
    monkeypatch.setattr(events, "emit", dies)
    api.call("POST", "/v1/scheduling/webhook/send", {
        "url": receiver.url("/down"), "payload": {}, "retries": 0,
        "circuit_breaker": {"failures": 1, "min_seconds": 0, "probe_seconds": 60}})
    drain()
    endpoint = store.get(*keys.endpoint(breaker.endpoint_id(project["project_id"], breaker.endpoint_of(receiver.url("/down")))))
    assert endpoint["state"] == "open" and endpoint["owed_event"]["type"] == "endpoint.held"
    monkeypatch.setattr(events, "emit", real)
    reconciler.run(now=clock.now() + 61)       # its probe's marker: the owed event is told first
    drain()
    told = [json.loads(a.body) for a in receiver.at("/events")]
    held = [e for e in told if e["type"] == "endpoint.held"]
    assert len(held) == 1 and held[0]["data"]["failures"] == 1
    assert "owed_event" not in store.get(endpoint["pk"], endpoint["sk"])


def test_a_bulk_replay_whose_step_task_is_lost_is_resumed_by_its_marker(api, receiver):
    failed = failed_webhooks(api, receiver, 2)
    job = api.call("POST", REPLAY, {"state": "failed"}).data
    [task] = receive_work()                     # its first step's task ...
    clients.sqs().delete_message(QueueUrl=dispatch.dispatch_queue_url(), ReceiptHandle=task["ReceiptHandle"])
    assert reconciler.run() == {}               # ... lost (SQS gave it up): nothing until its marker
    assert reconciler.run(now=clock.now() + replays.STEP_RECHECK + 1) == {"replay resumed": 1}
    drain()
    done = api.call("GET", f"/v1/scheduling/replays/{job['replay_id']}").data
    assert done["state"] == "completed" and done["queued"] == 2
    assert sorted(a.headers["webhook-id"] for a in receiver.at("/flaky")[-2:]) == sorted(failed)   # replayed once each
