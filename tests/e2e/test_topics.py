"""Fan-out through the whole local stack (issue 25's proof): HTTP subscriptions chosen by event
type and filter, an SQS queue as a destination, a failing subscriber that does not hold up the
others, a cron job publishing to the topic, and 200 subscribers each getting a publish once."""
import json
import time
import uuid

from standardwebhooks.webhooks import Webhook

from chalicelib.aws import clients

T = "/v1/scheduling/topics"
ACCOUNT = "123456789012"   # moto's account


def _topic(api, name):
    assert api.put(f"{T}/{name}", {"description": "e2e"}).status_code in (200, 201)


def _subscribe(api, name, body):
    resp = api.post(f"{T}/{name}/subscriptions", body)
    assert resp.status_code == 201, resp.text
    return resp.json()["subscription_id"]


def _sqs_messages(url, count, timeout=30):
    sqs, got, deadline = clients.in_region("sqs", "us-east-1"), [], time.time() + timeout
    while len(got) < count and time.time() < deadline:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   MessageAttributeNames=["All"]).get("Messages", [])
    return got


def test_publishes_arrive_where_types_and_filters_say_over_http_and_sqs(api, receiver, path):
    name = "orders" + path.replace("/", "-")[:40]
    _topic(api, name)
    paid = _subscribe(api, name, {"url": receiver.url(path + "/paid"), "event_types": ["order.paid"]})
    big = _subscribe(api, name, {"url": receiver.url(path + "/big"), "filter": {"amount": [{"numeric": [">", 100]}]}})
    every = _subscribe(api, name, {"url": receiver.url(path + "/all")})
    queue = f"e2e-{uuid.uuid4().hex[:8]}"
    url = clients.in_region("sqs", "us-east-1").create_queue(QueueName=queue)["QueueUrl"]
    _subscribe(api, name, {"destination": {"type": "sqs", "arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"},
                           "event_types": ["order.paid"]})

    events = [("order.paid", {"order": 1, "amount": 50}), ("order.refunded", {"order": 2, "amount": 500}),
              ("order.paid", {"order": 3, "amount": 150})]
    made = {}
    for event_type, payload in events:
        resp = api.post(f"{T}/{name}/publish", {"event_type": event_type, "payload": payload})
        assert resp.status_code == 202, resp.text
        made[payload["order"]] = {d["subscription_id"]: d["delivery_id"] for d in resp.json()["deliveries"]}

    expected = {"/paid": [1, 3], "/big": [2, 3], "/all": [1, 2, 3]}
    for suffix, orders in expected.items():
        arrivals = receiver.wait_for(path + suffix, len(orders))
        time.sleep(0.5)   # a stray extra would come now
        arrivals = receiver.at(path + suffix)
        assert sorted(a.json["order"] for a in arrivals) == orders, suffix
        assert all(a.verified for a in arrivals)
        assert all(a.headers["infrai-topic"] == name for a in arrivals)
    sub_of = {"/paid": paid, "/big": big, "/all": every}
    for suffix, sub in sub_of.items():   # each its own webhook-id: the delivery the publish named
        for a in receiver.at(path + suffix):
            assert a.headers["webhook-id"] == made[a.json["order"]][sub]
    ids = [a.headers["webhook-id"] for s in expected for a in receiver.at(path + s)]
    assert len(ids) == len(set(ids)) == 7

    messages = _sqs_messages(url, 2)
    assert sorted(json.loads(m["Body"])["order"] for m in messages) == [1, 3]
    for m in messages:   # signed as the HTTP body would be, verified by an independent library
        attrs = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
        Webhook(receiver.secret).verify(m["Body"], attrs)
        assert attrs["webhook-id"] in made[json.loads(m["Body"])["order"]].values()


def test_a_failing_subscriber_retries_without_holding_up_the_others(api, receiver, path):
    name = "fail" + path.replace("/", "-")[:40]
    _topic(api, name)
    receiver.script(path + "/down", [500, 500, 200])
    _subscribe(api, name, {"url": receiver.url(path + "/down"), "retries": 3})
    _subscribe(api, name, {"url": receiver.url(path + "/up")})
    sent = time.time()
    made = api.post(f"{T}/{name}/publish", {"event_type": "e", "payload": {"n": 1}})
    assert made.status_code == 202
    [up] = receiver.wait_for(path + "/up", 1)
    down = receiver.wait_for(path + "/down", 3)   # two failures, then it lands (1 s between tries here)
    assert up.at - sent < down[-1].at - sent, "the healthy subscriber did not wait for the failing one's retries"
    assert len({a.headers["webhook-id"] for a in down}) == 1
    failing = [d["delivery_id"] for d in made.json()["deliveries"] if d["delivery_id"] == down[0].headers["webhook-id"]]
    record = api.wait_state(failing[0], {"succeeded"}, path="/v1/scheduling/queue/messages/")
    assert [a["status_code"] for a in record["attempts"]] == [500, 500, 200]


def test_a_cron_jobs_run_reaches_the_topics_subscribers(api, receiver, path):
    name = "cron" + path.replace("/", "-")[:40]
    _topic(api, name)
    subs = [_subscribe(api, name, {"url": receiver.url(f"{path}/{i}")}) for i in range(2)]
    job = api.post("/v1/scheduling/cron", {"name": name, "schedule": "0 0 1 1 *", "topic": name,
                                           "event_type": "digest.due", "payload": {"digest": True}})
    assert job.status_code == 201, job.text
    assert api.post(f"/v1/scheduling/cron/{job.json()['cron_id']}/trigger").status_code in (200, 202)
    for i, sub in enumerate(subs):
        [a] = receiver.wait_for(f"{path}/{i}", 1)
        assert a.verified and a.json == {"digest": True}
        assert a.headers["infrai-subscription"] == sub and a.headers["infrai-event-type"] == "digest.due"


def test_two_hundred_subscribers_each_get_one_publish_once(api, receiver, path):
    name = "many" + path.replace("/", "-")[:40]
    _topic(api, name)
    for i in range(200):
        _subscribe(api, name, {"url": receiver.url(path)})
    resp = api.post(f"{T}/{name}/publish", {"event_type": "e", "payload": {"hello": "all"}})
    assert resp.status_code == 202 and resp.json()["matched"] == 200
    arrivals = receiver.wait_for(path, 200, timeout=120)
    time.sleep(1)   # a duplicate would come now
    arrivals = receiver.at(path)
    assert len(arrivals) == 200 and all(a.verified for a in arrivals)
    assert {a.headers["webhook-id"] for a in arrivals} == {d["delivery_id"] for d in resp.json()["deliveries"]}
