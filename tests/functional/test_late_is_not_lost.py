"""Issue 22: late is never judged lost. Work handed to SQS carries no marker (its message is the
lease), so a dispatch queue far behind makes nothing re-sent and nothing failed; work may arrive
before the write that owes it and comes back until it lands; the batch's lease fits its longest
attempt; what SQS gives up on (the DLQ) is failed visibly; and every work message names its
project, the fair-queue group."""
import json

from chalicelib.aws import clients, dispatch, keys, store
from chalicelib.core import clock, due
from chalicelib.services.delivery import deliveries
from chalicelib.services.deliver import router
from chalicelib.services.repair import reconciler

from .conftest import drain, receive_work

W = "/v1/scheduling/webhook"


def visible_work():
    """Every work message on the dispatch queue now, left in place."""
    msgs = clients.sqs().receive_message(QueueUrl=dispatch.dispatch_queue_url(), MaxNumberOfMessages=10,
                                         VisibilityTimeout=0, AttributeNames=["All"]).get("Messages", [])
    return msgs


def test_a_queue_ten_minutes_behind_gets_nothing_resent_and_nothing_failed(api, receiver, offset):
    ids = [api.call("POST", W + "/send", {"url": receiver.url("/late"), "payload": {"i": i}, "retries": 0,
                                          "timeout_seconds": 5}).data["delivery_id"] for i in range(5)]
    for minute in range(1, 11):                 # the deliver function is 10 minutes behind
        offset[0] = minute * 60
        assert reconciler.run() == {}           # nothing looks lost: nothing is re-sent or failed
    assert sorted(json.loads(m["Body"])["d"] for m in visible_work()) == sorted(ids)
    drain()
    assert sorted(a.headers["webhook-id"] for a in receiver.at("/late")) == sorted(ids)   # each once
    assert {api.call("GET", f"{W}/deliveries/{d}").data["state"] for d in ids} == {"succeeded"}


def test_every_work_message_names_its_project_as_its_fair_queue_group(api, project, receiver):
    api.call("POST", W + "/send", {"url": receiver.url("/g"), "payload": {}})
    [m] = visible_work()
    assert json.loads(m["Body"])["p"] == project["project_id"]
    assert m["Attributes"]["MessageGroupId"] == project["project_id"]


def test_work_that_arrives_before_its_record_comes_back_until_it_lands(api, project, receiver):
    record = deliveries.new_record(project["project_id"], kind="webhook", url=receiver.url("/early"),
                                   payload="{}", retries=0, timeout_seconds=5)
    dispatch.enqueue(deliveries.work_of(record, 1, clock.now()))     # handed, not yet written
    out = router.process_batch([m["Body"] for m in receive_work()])
    assert out["outcomes"] == ["not yet"]
    store.put(record)                                                  # the write lands
    [copy] = [json.loads(m["Body"]) for m in clients.sqs().receive_message(
        QueueUrl=dispatch.dispatch_queue_url(), WaitTimeSeconds=12, VisibilityTimeout=0).get("Messages", [])]
    assert copy["t"] == 1 and copy["d"] == record["delivery_id"]     # a new message, 10 s later
    drain()
    assert [a.headers["webhook-id"] for a in receiver.at("/early")] == [record["delivery_id"]]


def test_work_whose_record_never_lands_is_dropped_after_the_grace(aws, offset):
    dispatch.enqueue(deliveries.work("dlv_never", 1, clock.now(), "proj_x"))
    offset[0] = due.HANDOFF_GRACE + 1
    assert router.process_batch([m["Body"] for m in receive_work()])["outcomes"] == ["unknown"]


def test_the_batch_lease_is_its_longest_attempt_plus_a_margin(api, receiver):
    for timeout in (5, 90):
        api.call("POST", W + "/send", {"url": receiver.url("/lease"), "payload": {}, "timeout_seconds": timeout})
    leases = []

    def seen(params=None, **_):
        leases.append({e["VisibilityTimeout"] for e in params["Entries"]})
    clients.sqs().meta.events.register("provide-client-params.sqs.ChangeMessageVisibilityBatch", seen)
    try:
        drain()
    finally:
        clients.sqs().meta.events.unregister("provide-client-params.sqs.ChangeMessageVisibilityBatch", seen)
    assert leases == [{90 + due.LEASE_MARGIN}]
    assert len(receiver.at("/lease")) == 2


def test_work_sqs_gave_up_on_is_failed_visibly_and_replayable(api, receiver):
    d = api.call("POST", W + "/send", {"url": receiver.url("/dlq"), "payload": {}}).data
    [m] = receive_work()
    clients.sqs().send_message(QueueUrl=dispatch.dead_letter_queue_url(), MessageBody=m["Body"])   # as a redrive
    clients.sqs().delete_message(QueueUrl=dispatch.dispatch_queue_url(), ReceiptHandle=m["ReceiptHandle"])
    dispatch.dead_letter({"reason": "retries exhausted", "delivery_id": "dlv_other"})   # an operator's notice
    assert reconciler.run()["poison"] == 1
    got = api.call("GET", f"{W}/deliveries/{d['delivery_id']}").data
    assert got["state"] == "failed" and got["attempts"][-1]["error"].startswith("poison: SQS gave up")
    left = clients.sqs().receive_message(QueueUrl=dispatch.dead_letter_queue_url(), MaxNumberOfMessages=10,
                                         VisibilityTimeout=0).get("Messages", [])
    bodies = [json.loads(x["Body"]) for x in left]
    assert all("d" not in b for b in bodies)                        # the raw work message is gone ...
    assert {b.get("delivery_id") for b in bodies} == {"dlv_other", d["delivery_id"]}   # ... its notice took its place
    api.call("POST", f"{W}/deliveries/{d['delivery_id']}/retry", {})
    drain()
    assert [a.headers["webhook-id"] for a in receiver.at("/dlq")] == [d["delivery_id"]]
    assert store.get(*keys.delivery(d["delivery_id"]))["state"] == "succeeded"


def test_a_write_that_lands_a_moment_after_its_hand_off_is_attempted_without_a_copy(api, project, receiver):
    import threading
    record = deliveries.new_record(project["project_id"], kind="webhook", url=receiver.url("/moment"),
                                   payload="{}", retries=0, timeout_seconds=5)
    dispatch.enqueue(deliveries.first_work(record))
    timer = threading.Timer(0.1, store.put, [record])            # the write lands 100 ms later
    timer.start()
    out = router.process_batch([m["Body"] for m in receive_work()])
    timer.join()
    assert out["outcomes"] == ["succeeded"]
    assert visible_work() == []                                   # no copy was sent round
    assert [a.headers["webhook-id"] for a in receiver.at("/moment")] == [record["delivery_id"]]
