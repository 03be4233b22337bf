"""Destinations in the user's AWS account (issue 25 item 4, docs/topics.md#destinations-in-your-aws-account):
a subscription delivers to an SQS queue or an EventBridge bus instead of a URL, against moto,
with the signature checked by `standardwebhooks` (an implementation independent of ours)."""
import json

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.aws import clients
from chalicelib.aws import destinations as aws_destinations
from chalicelib.services.tenancy import projects

from .conftest import drain

T = "/v1/scheduling/topics"
S = "/v1/scheduling/subscriptions"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _fresh_roles():
    aws_destinations.forget()
    yield
    aws_destinations.forget()


def queue(name: str, region: str = "us-east-1") -> tuple[str, str]:
    """(ARN, URL) of a new queue in the user's account (moto)."""
    sqs = clients.in_region("sqs", region)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return f"arn:aws:sqs:{region}:{ACCOUNT}:{name}", url


def received(url: str, region: str = "us-east-1") -> list[dict]:
    return clients.in_region("sqs", region).receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])


def attributes(msg: dict) -> dict:
    return {k: v["StringValue"] for k, v in msg.get("MessageAttributes", {}).items()}


def verifies(project: dict, body: str, headers: dict) -> bool:
    Webhook(projects.current_secret(project["project_id"])).verify(body, headers)   # raises if not
    return True


def publish(api, topic, payload, event_type="order.paid"):
    resp = api.call("POST", f"{T}/{topic}/publish", {"event_type": event_type, "payload": payload})
    assert resp.status_code == 202, resp.data
    return {d["subscription_id"]: d["delivery_id"] for d in resp.data["deliveries"]}


def test_a_publish_arrives_at_an_http_subscriber_and_an_sqs_queue_signed(api, project, receiver):
    arn, url = queue("orders-in")
    api.call("PUT", f"{T}/orders", {})
    http = api.call("POST", f"{T}/orders/subscriptions", {"url": receiver.url("/o")}).data["subscription_id"]
    made = api.call("POST", f"{T}/orders/subscriptions", {"destination": {"type": "sqs", "arn": arn}})
    assert made.status_code == 201, made.data
    sub = made.data
    assert sub["url"] is None and sub["destination"] == {"type": "sqs", "arn": arn}
    ids = publish(api, "orders", {"order_id": "ord_1", "amount": 150})
    drain()
    [arrival] = receiver.at("/o")
    assert arrival.verified and arrival.headers["webhook-id"] == ids[http]
    [msg] = received(url)
    attrs = attributes(msg)
    assert json.loads(msg["Body"]) == {"order_id": "ord_1", "amount": 150}
    assert attrs["webhook-id"] == ids[sub["subscription_id"]] != ids[http]
    assert verifies(project, msg["Body"], attrs)
    assert attrs["infrai-topic"] == "orders" and attrs["infrai-event-type"] == "order.paid"
    assert attrs["infrai-subscription"] == sub["subscription_id"] and attrs["infrai-attempt"] == "1"
    got = api.call("GET", f"/v1/scheduling/queue/messages/{ids[sub['subscription_id']]}").data
    assert got["state"] == "succeeded"
    [attempt] = got["attempts"]
    assert attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["response_excerpt"].startswith("SQS MessageId ")


def test_an_eventbridge_bus_gets_the_event_with_the_payload_and_its_signature(api, project):
    events = clients.in_region("events", "eu-west-1")
    events.create_event_bus(Name="orders-bus")
    bus = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/orders-bus"
    target, url = queue("bus-copy", "eu-west-1")
    events.put_rule(Name="big-orders", EventBusName="orders-bus",
                    EventPattern=json.dumps({"source": ["infrai.orders"], "detail": {"payload": {"amount": [{"numeric": [">", 100]}]}}}))
    events.put_targets(Rule="big-orders", EventBusName="orders-bus", Targets=[{"Id": "q", "Arn": target}])
    api.call("PUT", f"{T}/orders", {})
    sub = api.call("POST", f"{T}/orders/subscriptions",
                   {"destination": {"type": "eventbridge", "arn": bus}}).data["subscription_id"]
    small = publish(api, "orders", {"amount": 5})
    big = publish(api, "orders", {"amount": 500})
    drain()
    [msg] = received(url, "eu-west-1")   # the rule matched on the payload: only the big one
    event = json.loads(msg["Body"])
    assert event["source"] == "infrai.orders" and event["detail-type"] == "order.paid"
    detail = event["detail"]
    assert detail["payload"] == {"amount": 500} and json.loads(detail["body"]) == {"amount": 500}
    assert detail["webhook-id"] == big[sub] and detail["infrai-subscription"] == sub
    assert verifies(project, detail["body"], detail)
    for ids in (small, big):   # both were put on the bus
        assert api.call("GET", f"/v1/scheduling/queue/messages/{ids[sub]}").data["state"] == "succeeded"


def test_a_missing_queue_fails_each_attempt_then_the_delivery_and_is_replayed_once_it_exists(api, project, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:not-yet"
    api.call("PUT", f"{T}/t", {})
    sub = api.call("POST", f"{T}/t/subscriptions", {"destination": {"type": "sqs", "arn": arn},
                                                    "retries": 1}).data["subscription_id"]
    delivery = publish(api, "t", {"n": 1})[sub]
    drain()
    got = api.call("GET", f"/v1/scheduling/queue/messages/{delivery}").data
    assert got["state"] == "failed" and len(got["attempts"]) == 2
    assert all(a["status_code"] is None and "NonExistentQueue" in a["error"] for a in got["attempts"]), got["attempts"]
    failed = api.call("GET", f"/v1/scheduling/deliveries?subscription_id={sub}&state=failed").data["items"]
    assert [f["delivery_id"] for f in failed] == [delivery]
    _, url = queue("not-yet")
    assert api.call("POST", f"/v1/scheduling/queue/messages/{delivery}/retry").status_code == 202
    drain()
    assert api.call("GET", f"/v1/scheduling/queue/messages/{delivery}").data["state"] == "succeeded"
    [msg] = received(url)
    assert attributes(msg)["webhook-id"] == delivery and verifies(project, msg["Body"], attributes(msg))


def test_a_role_is_assumed_for_another_accounts_queue(api, project, monkeypatch):
    other, role = "210987654321", "arn:aws:iam::210987654321:role/infrai-sender"
    theirs = clients.with_credentials("sqs", "us-east-1", clients.sts().assume_role(
        RoleArn=role, RoleSessionName="set-up")["Credentials"])   # moto: the role's account
    url = theirs.create_queue(QueueName="partner-in")["QueueUrl"]
    calls = []
    sts = clients.sts()
    real = sts.assume_role
    monkeypatch.setattr(sts, "assume_role", lambda **kw: calls.append(kw["RoleArn"]) or real(**kw))
    arn = f"arn:aws:sqs:us-east-1:{other}:partner-in"
    api.call("PUT", f"{T}/p", {})
    sub = api.call("POST", f"{T}/p/subscriptions",
                   {"destination": {"type": "sqs", "arn": arn, "role_arn": role}}).data
    assert sub["destination"]["role_arn"] == role
    ids = [publish(api, "p", {"n": i})[sub["subscription_id"]] for i in range(2)]
    drain()
    got = theirs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    assert sorted(attributes(m)["webhook-id"] for m in got.get("Messages", [])) == sorted(ids)
    assert calls == [role], "assumed once, its credentials kept until they near their end"
    assert received(queue("partner-in")[1]) == [], "not the deploying account's queue of that name"


@pytest.mark.parametrize("body, field", [
    ({"destination": {"type": "sqs", "arn": "arn:aws:sqs:us-east-1:123:q"}}, "destination.arn"),
    ({"destination": {"type": "sqs", "arn": "arn:aws:events:us-east-1:123456789012:event-bus/b"}}, "destination.arn"),
    ({"destination": {"type": "eventbridge", "arn": "arn:aws:events:us-east-1:123456789012:rule/r"}}, "destination.arn"),
    ({"destination": {"type": "sns", "arn": "arn:aws:sns:us-east-1:123456789012:t"}}, "destination.type"),
    ({"destination": {"type": "sqs", "arn": "arn:aws:sqs:us-east-1:123456789012:q", "role_arn": "admin"}},
     "destination.role_arn"),
    ({"destination": {"type": "sqs", "arn": "arn:aws:sqs:us-east-1:123456789012:q", "region": "x"}},
     "destination.region"),
    ({"destination": "arn:aws:sqs:us-east-1:123456789012:q"}, "destination"),
    ({"destination": {"type": "sqs", "arn": "arn:aws:sqs:us-east-1:123456789012:q"}, "url": "https://a.example.com"},
     "destination"),
    ({}, "url"),
    ({"destination": {"type": "sqs", "arn": "arn:aws:sqs:us-east-1:123456789012:q"}, "headers": {"X-A": "1"}},
     "headers"),
])
def test_a_bad_destination_is_a_400_naming_the_field_and_nothing_is_stored(api, body, field):
    api.call("PUT", f"{T}/bad", {})
    resp = api.call("POST", f"{T}/bad/subscriptions", body)
    assert resp.status_code == 400 and resp.data["error"]["field"] == field, resp.data
    assert api.call("GET", f"{T}/bad/subscriptions").data["items"] == []


def test_a_deployment_refuses_a_destination_it_was_not_granted(api, monkeypatch):
    granted = f"arn:aws:sqs:us-east-1:{ACCOUNT}:granted"
    monkeypatch.setenv("INFRAI_DESTINATION_ARNS", f"{granted}, arn:aws:iam::{ACCOUNT}:role/r")
    api.call("PUT", f"{T}/g", {})
    refused = api.call("POST", f"{T}/g/subscriptions",
                       {"destination": {"type": "sqs", "arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:other"}})
    assert refused.status_code == 400 and "INFRAI_DESTINATION_ARNS" in refused.data["error"]["message"]
    assert api.call("POST", f"{T}/g/subscriptions", {"destination": {
        "type": "sqs", "arn": granted, "role_arn": f"arn:aws:iam::{ACCOUNT}:role/r"}}).status_code == 201


def test_a_subscription_switches_between_a_url_and_a_destination(api):
    arn, _ = queue("switch")
    api.call("PUT", f"{T}/s", {})
    sub = api.call("POST", f"{T}/s/subscriptions", {"url": "https://hooks.example.com/s",
                                                   "headers": {"X-A": "1"}}).data["subscription_id"]
    moved = api.call("PATCH", f"{S}/{sub}", {"destination": {"type": "sqs", "arn": arn}}).data
    assert moved["url"] is None and moved["destination"]["arn"] == arn and moved["headers"] == {}
    assert api.call("PATCH", f"{S}/{sub}", {"destination": None}).status_code == 400
    back = api.call("PATCH", f"{S}/{sub}", {"url": "https://hooks.example.com/s"}).data
    assert back["url"] == "https://hooks.example.com/s" and back["destination"] is None
