"""What is sent to a destination (chalicelib/core/destinations.py): ARN shapes, SQS attributes
within SQS's limit of 10, FIFO fields, the EventBridge entry and its size limit."""
import json

import pytest

from chalicelib.core import destinations
from chalicelib.core.errors import InvalidInput

Q = "arn:aws:sqs:eu-west-1:123456789012:orders"
HEADERS = {"webhook-id": "msg_1", "webhook-timestamp": "1800000000", "webhook-signature": "v1,abc",
           "infrai-topic": "orders", "infrai-event-type": "order.paid", "infrai-subscription": "sub_1",
           "infrai-attempt": "2", "traceparent": "00-a-b-01", "tracestate": "x=1", "infrai-extra": "e",
           "infrai-one-too-many": "f"}


@pytest.mark.parametrize("arn, ok", [
    (Q, True), ("arn:aws:sqs:eu-west-1:123456789012:orders.fifo", True),
    ("arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q", True), ("arn:aws:sqs:eu-west-1:123456789012:a/b", False),
    ("arn:aws:sqs:eu-west-1:123456789012:" + "q" * 81, False), ("arn:aws:sqs:eu-west-1:12345678901:q", False),
    ("arn:aws:sqs:*:123456789012:q", False), ("arn:aws:sqs:eu-west-1:123456789012:*", False),
])
def test_sqs_arns_are_checked_strictly(arn, ok):
    if ok:
        assert destinations.check({"type": "sqs", "arn": arn}, None) == {"type": "sqs", "arn": arn}
    else:
        with pytest.raises(InvalidInput) as e:
            destinations.check({"type": "sqs", "arn": arn}, None)
        assert e.value.field == "destination.arn"


def test_sqs_attributes_lead_with_the_signature_and_stop_at_ten():
    msg = destinations.sqs_message(Q, '{"a":1}', HEADERS, "sub_1")
    attrs = msg["MessageAttributes"]
    assert list(attrs)[:3] == ["webhook-id", "webhook-timestamp", "webhook-signature"] and len(attrs) == 10
    assert msg["MessageBody"] == '{"a":1}' and "MessageGroupId" not in msg
    fifo = destinations.sqs_message(Q + ".fifo", "{}", HEADERS, "sub_1")
    assert fifo["MessageGroupId"] == "sub_1" and fifo["MessageDeduplicationId"] == "msg_1"


def test_the_eventbridge_detail_is_an_object_with_the_payload_and_the_signed_body():
    entry = destinations.eventbridge_entry("arn:aws:events:eu-west-1:123456789012:event-bus/b", '{"amount": 5}',
                                           HEADERS, destinations.event_source("orders"), "order.paid")
    detail = json.loads(entry["Detail"])
    assert entry["Source"] == "infrai.orders" and entry["DetailType"] == "order.paid"
    assert detail["payload"] == {"amount": 5} and detail["body"] == '{"amount": 5}'
    assert detail["webhook-id"] == "msg_1"
    with pytest.raises(ValueError, match="256 KB"):
        destinations.eventbridge_entry("arn:aws:events:eu-west-1:123456789012:event-bus/b",
                                       json.dumps({"x": "y" * 140_000}), HEADERS, "infrai.orders", "e")


def test_a_granted_list_refuses_what_it_does_not_name():
    role = "arn:aws:iam::123456789012:role/r"
    assert destinations.check({"type": "sqs", "arn": Q, "role_arn": role}, [Q, role])["role_arn"] == role
    with pytest.raises(InvalidInput) as e:
        destinations.check({"type": "sqs", "arn": Q, "role_arn": role}, [Q])
    assert e.value.field == "destination.role_arn" and "INFRAI_DESTINATION_ARNS" in str(e.value)
