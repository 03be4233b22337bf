"""`infrai topics …` against the fake API: what each command sends, and what it prints."""
import json

from click.testing import CliRunner

from infrai import cli

KEY = "ifr_pk_proj_" + "a" * 40
SUB = "sub_01JABCDEFGHJKMNPQRSTVWXYZ0"
MSG = "msg_01JABCDEFGHJKMNPQRSTVWXYZ0"


def run(fake, *args):
    return CliRunner().invoke(cli.main, ["--api-key", KEY, "--base-url", fake.url, *args], env={"COLUMNS": "200"})


def test_subscribe_sends_types_and_filter_and_shows_them(fake):
    fake.default = (201, {"subscription_id": SUB, "topic": "orders", "url": "https://x.example.com",
                          "event_types": ["order.paid"], "filter": {"amount": [{"numeric": [">", 100]}]},
                          "headers": {}, "auth": None, "retries": 3}, {})
    out = run(fake, "topics", "subscribe", "orders", "https://x.example.com", "--event-type", "order.paid",
              "--filter", '{"amount": [{"numeric": [">", 100]}]}')
    assert out.exit_code == 0, out.output
    assert fake.requests[-1][:2] == ("POST", "/v1/scheduling/topics/orders/subscriptions")
    assert fake.requests[-1][3] == {"url": "https://x.example.com", "event_types": ["order.paid"],
                                    "filter": {"amount": [{"numeric": [">", 100]}]}}
    assert SUB in out.output and "order.paid" in out.output and '"numeric"' in out.output
    bad = run(fake, "topics", "subscribe", "orders", "https://x.example.com", "--filter", "{nope")
    assert bad.exit_code != 0 and "--filter" in bad.output


def test_subscribe_takes_a_queue_or_bus_arn_as_a_destination(fake):
    arn = "arn:aws:events:eu-west-1:123456789012:event-bus/orders"
    role = "arn:aws:iam::123456789012:role/r"
    fake.default = (201, {"subscription_id": SUB, "topic": "orders", "url": None, "event_types": None, "filter": None,
                          "destination": {"type": "eventbridge", "arn": arn, "role_arn": role},
                          "headers": {}, "auth": None, "retries": 3}, {})
    out = run(fake, "topics", "subscribe", "orders", arn, "--role-arn", role)
    assert out.exit_code == 0, out.output
    assert fake.requests[-1][3] == {"destination": {"type": "eventbridge", "arn": arn, "role_arn": role}}
    assert arn in out.output
    run(fake, "topics", "subscribe", "orders", "arn:aws:sqs:eu-west-1:123456789012:q")
    assert fake.requests[-1][3] == {"destination": {"type": "sqs", "arn": "arn:aws:sqs:eu-west-1:123456789012:q"}}
    bad = run(fake, "topics", "subscribe", "orders", "https://x.example.com", "--role-arn", role)
    assert bad.exit_code != 0 and "--role-arn" in bad.output


def test_publish_prints_each_delivery(fake):
    fake.default = (202, {"message_id": MSG, "topic": "orders", "event_type": "order.paid", "matched": 1,
                          "deliveries": [{"subscription_id": SUB, "delivery_id": MSG, "state": "queued"}]}, {})
    out = run(fake, "topics", "publish", "orders", "order.paid", "--payload", '{"amount": 150}', "--idempotency-key", "k1")
    assert out.exit_code == 0, out.output
    method, path, headers, body = fake.requests[-1]
    assert (method, path, body) == ("POST", "/v1/scheduling/topics/orders/publish",
                                    {"event_type": "order.paid", "payload": {"amount": 150}})
    assert headers.get("Idempotency-Key") == "k1"
    assert "1 subscription(s) matched" in out.output and SUB in out.output
    js = run(fake, "--json", "topics", "publish", "orders", "order.paid")
    assert json.loads(js.output)["matched"] == 1


def test_ls_put_subs_unsubscribe_and_the_deliveries_filters(fake):
    fake.default = (200, {"items": [{"name": "orders", "subscriptions": 2, "description": "Orders"}], "next_cursor": None}, {})
    assert "orders" in run(fake, "topics", "ls").output
    assert fake.requests[-1][:2] == ("GET", "/v1/scheduling/topics?limit=20")
    fake.default = (200, {"name": "orders", "description": "Orders", "subscriptions": 0}, {})
    run(fake, "topics", "put", "orders", "--description", "Orders")
    assert fake.requests[-1][:2] == ("PUT", "/v1/scheduling/topics/orders") and fake.requests[-1][3] == {"description": "Orders"}
    fake.default = (200, {"items": [{"subscription_id": SUB, "url": "https://x.example.com", "event_types": None,
                                     "filter": None, "paused": False}], "next_cursor": None}, {})
    out = run(fake, "topics", "subs", "orders")
    assert SUB in out.output and "all" in out.output
    fake.default = (200, {"deleted": SUB, "cancelled_deliveries": 2}, {})
    out = run(fake, "topics", "unsubscribe", SUB)
    assert fake.requests[-1][:2] == ("DELETE", f"/v1/scheduling/subscriptions/{SUB}") and "2 deliveries" in out.output
    fake.default = (200, {"items": [], "next_cursor": None}, {})
    run(fake, "deliveries", "ls", "--topic", "orders", "--subscription-id", SUB)
    assert fake.requests[-1][1].startswith("/v1/scheduling/deliveries?") and "topic=orders" in fake.requests[-1][1]
    assert f"subscription_id={SUB}" in fake.requests[-1][1]


def test_update_changes_a_subscriptions_target_to_a_url_or_a_queue_or_bus(fake):
    arn = "arn:aws:sqs:eu-west-1:123456789012:orders-in"
    fake.default = (200, {"subscription_id": SUB, "topic": "orders", "url": None, "event_types": None, "filter": None,
                          "destination": {"type": "sqs", "arn": arn}, "headers": {}, "auth": None, "retries": 3}, {})
    out = run(fake, "topics", "update", SUB, "--destination", arn)
    assert out.exit_code == 0, out.output
    assert fake.requests[-1][:2] == ("PATCH", f"/v1/scheduling/subscriptions/{SUB}")
    assert fake.requests[-1][3] == {"destination": {"type": "sqs", "arn": arn}}
    assert arn in out.output
    bus, role = "arn:aws:events:eu-west-1:123456789012:event-bus/orders", "arn:aws:iam::123456789012:role/r"
    assert run(fake, "topics", "update", SUB, "--destination", bus, "--role-arn", role).exit_code == 0
    assert fake.requests[-1][3] == {"destination": {"type": "eventbridge", "arn": bus, "role_arn": role}}
    fake.default = (200, {"subscription_id": SUB, "topic": "orders", "url": "https://x.example.com/in",
                          "destination": None, "event_types": None, "filter": None, "headers": {}, "auth": None}, {})
    out = run(fake, "topics", "update", SUB, "--url", "https://x.example.com/in")
    assert out.exit_code == 0, out.output
    assert fake.requests[-1][3] == {"url": "https://x.example.com/in"}
    assert "https://x.example.com/in" in out.output


def test_update_refuses_both_targets_none_or_a_bad_arn_before_asking_the_api(fake):
    sent = len(fake.requests)
    both = run(fake, "topics", "update", SUB, "--url", "https://x.example.com", "--destination",
               "arn:aws:sqs:eu-west-1:123456789012:q")
    assert both.exit_code == 2 and "either --url or --destination, not both" in both.output
    neither = run(fake, "topics", "update", SUB)
    assert neither.exit_code == 2 and "--url URL or --destination ARN" in neither.output
    not_arn = run(fake, "topics", "update", SUB, "--destination", "orders-in")
    assert not_arn.exit_code == 2 and "--destination" in not_arn.output and "SQS queue or EventBridge bus ARN" in not_arn.output
    role = run(fake, "topics", "update", SUB, "--url", "https://x.example.com", "--role-arn",
               "arn:aws:iam::123456789012:role/r")
    assert role.exit_code == 2 and "--role-arn" in role.output
    assert len(fake.requests) == sent   # nothing was sent


def test_update_shows_the_apis_refusal(fake):
    fake.answer(400, {"error": {"code": "invalid_input", "field": "destination.arn",
                                "message": "'destination.arn' must be an sqs ARN: arn:aws:sqs:<region>:<account>:<queue name>."}})
    out = run(fake, "topics", "update", SUB, "--destination", "arn:aws:sqs:nowhere:1:q")
    assert out.exit_code != 0
    assert "must be an sqs ARN" in out.output
