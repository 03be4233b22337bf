"""A topic's page in a real browser: a subscription's target changed from a URL to an SQS queue
(with a role to assume) and back to a URL, each checked through the API (and the last by a
delivery arriving there); an ARN of the wrong kind shows the API's refusal and changes nothing."""
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in

QUEUE = "arn:aws:sqs:eu-west-1:123456789012:orders-in"
ROLE = "arn:aws:iam::123456789012:role/infrai-send"


def change_target(page, sub_id, kind, value, role=None):
    page.locator(f'tr[data-id="{sub_id}"]').get_by_role("button", name="Change target").click()
    form = page.locator(f'form[aria-label="Target of {sub_id}"]')
    form.get_by_label("Target").select_option(label=kind)
    form.get_by_label("URL or ARN").fill(value)
    if role is not None:
        form.get_by_label("Role to assume (optional)").fill(role)
    form.get_by_role("button", name="Save target").click()
    return form


def test_a_subscriptions_target_changes_to_a_queue_and_back_and_a_wrong_arn_is_refused(web, stack, api, receiver, path):
    page = web.page
    web.expected_statuses = {400}   # the wrong ARN, on purpose
    topic = "target-" + uuid.uuid4().hex[:8]
    assert api.put(f"/v1/scheduling/topics/{topic}", {}).status_code == 200
    sub_id = api.post(f"/v1/scheduling/topics/{topic}/subscriptions",
                      {"url": receiver.url(path + "-old")}).json()["subscription_id"]
    sub = f"/v1/scheduling/subscriptions/{sub_id}"
    row = page.locator(f'tr[data-id="{sub_id}"]')
    sign_in(web, stack, f"#/topics/{topic}")
    expect(row).to_contain_text(receiver.url(path + "-old"))

    change_target(page, sub_id, "SQS queue ARN", QUEUE, ROLE)
    expect(row).to_contain_text(f"SQS {QUEUE} (as {ROLE})")
    stored = api.get(sub).json()
    assert stored["destination"] == {"type": "sqs", "arn": QUEUE, "role_arn": ROLE} and stored["url"] is None
    shot(page, "topic-target-queue")

    form = change_target(page, sub_id, "EventBridge bus ARN", QUEUE)   # a queue's ARN is no bus
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("Error 400")
    expect(alert).to_contain_text("must be an eventbridge ARN")
    expect(alert).to_contain_text("destination.arn")
    assert api.get(sub).json() == stored   # nothing changed
    shot(page, "topic-target-refused")
    form.get_by_role("button", name="Cancel").click()
    expect(form).to_have_count(0)

    change_target(page, sub_id, "URL (an HTTP endpoint)", receiver.url(path))
    expect(row).to_contain_text(receiver.url(path))
    stored = api.get(sub).json()
    assert stored["url"] == receiver.url(path) and stored["destination"] is None
    sent = api.post(f"/v1/scheduling/topics/{topic}/publish", {"event_type": "order.paid", "payload": {"n": 1}}).json()
    [delivery] = sent["deliveries"]
    assert receiver.wait_for(path, 1)[0].headers["webhook-id"] == delivery["delivery_id"]
