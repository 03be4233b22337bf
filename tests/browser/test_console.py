"""The console in a real browser (headless Chromium), as a user drives it: sign in and out,
a failed webhook found by filter, its attempts, retried after the receiver is fixed; a cron job
in America/New_York with its next runs across a DST change; a queue's held messages released by
attaching an endpoint; keys and the signing secret. A screenshot of each page goes under
build/console/. Every test also checks (conftest.Watched) that no request left the origin and the
browser console holds no error."""
import re
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in

SEND = "/v1/scheduling/webhook/send"
Q = "/v1/scheduling/queue"
VIEWER = ZoneInfo("Europe/Paris")   # the browser contexts' zone (conftest)


def send_failing(api, receiver, path, status):
    receiver.script(path, [status])
    d = api.post(SEND, {"url": receiver.url(path), "payload": {"order": path}, "retries": 0}).json()
    assert api.wait_state(d["delivery_id"], {"failed"})["state"] == "failed"
    return d["delivery_id"]


def test_sign_in_shows_the_apis_refusal_then_signs_in_and_out(web, stack):
    page = web.page
    web.expected_statuses = {401}      # the wrong key, on purpose
    page.goto(f"{stack.base_url}/console")
    expect(page.get_by_label("API key")).to_be_focused()   # keyboard first: type and press Enter
    shot(page, "sign-in")
    page.keyboard.type("ifr_pk_proj_" + "x" * 40)
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Error 401")
    assert page.locator(".error-message").inner_text().strip(), "the API's own message is shown"
    page.get_by_label("API key").fill(stack.api_key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('infrai.apiKey')") == stack.api_key
    assert page.evaluate("localStorage.length") == 0 and web.context.cookies() == []
    # the navigation by keyboard alone
    page.get_by_role("link", name="Cron jobs").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Cron jobs")).to_be_visible()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("Signed out")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('infrai.apiKey')") is None
    page.reload()
    expect(page.get_by_label("API key")).to_be_visible()   # still signed out


def test_a_failed_webhook_is_found_by_filter_and_succeeds_once_retried(web, stack, api, receiver, path):
    page = web.page
    delivery_id = send_failing(api, receiver, path, 500)
    sign_in(web, stack)
    page.get_by_label("State").select_option("failed")
    page.get_by_label("Kind").select_option("webhook")
    page.get_by_label("Status").fill("500")
    page.get_by_role("button", name="Filter", exact=True).click()
    row = page.locator(f'tr[data-id="{delivery_id}"]')
    expect(row).to_be_visible()
    for state in page.locator("table.deliveries tbody .badge").all_inner_texts():
        assert state == "failed", "the filter holds: only failed deliveries listed"
    shot(page, "deliveries")
    row.get_by_role("link", name=delivery_id).click()
    expect(page.get_by_role("heading", name=f"Delivery {delivery_id}")).to_be_visible()
    expect(page.locator("#delivery-state")).to_have_text("failed")
    attempts = page.locator("table.attempts tbody tr")
    expect(attempts).to_have_count(1)
    expect(attempts.nth(0).locator("td").nth(2)).to_have_text("500")
    expect(page.locator("pre.payload")).to_contain_text(f'"order": "{path}"')
    shot(page, "delivery-failed")
    receiver.script(path, [200])       # the receiver is fixed
    page.get_by_role("button", name="Retry", exact=True).click()
    expect(page.locator("#delivery-state")).to_have_text("succeeded")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(1).locator("td").nth(2)).to_have_text("200")
    expect(page.get_by_role("button", name="Retry", exact=True)).to_be_disabled()
    shot(page, "delivery-succeeded")
    arrivals = receiver.at(path)
    assert len(arrivals) == 2 and all(a.verified for a in arrivals)
    assert {a.headers["webhook-id"] for a in arrivals} == {delivery_id}
    # the trace the receiver saw, and each attempt's span, as the console shows them
    sent = [a.headers["traceparent"].split("-") for a in arrivals]
    expect(page.locator("#delivery-trace")).to_have_text(sent[0][1])
    expect(attempts.nth(0).locator("td").nth(6)).to_have_text(sent[0][2])
    expect(attempts.nth(1).locator("td").nth(6)).to_have_text(sent[1][2])


def test_bulk_replay_of_what_the_filters_match_shows_its_progress(web, stack, api, receiver, path):
    page = web.page
    since = datetime.now(timezone.utc).replace(microsecond=0)
    ids = [send_failing(api, receiver, path, 503) for _ in range(2)]
    receiver.script(path, [200])
    sign_in(web, stack, "#/deliveries?state=failed&status_code=503&since=" + since.isoformat().replace("+00:00", "Z"))
    expect(page.locator("table.deliveries tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Replay every failed delivery matching these filters").click()
    expect(page.locator(".progress")).to_contain_text("completed; 2 matched, 2 replayed", timeout=20_000)
    for delivery_id in ids:
        assert api.wait_state(delivery_id, {"succeeded"})["state"] == "succeeded"


def test_the_list_pages_with_the_apis_cursor_and_fits_a_phone(phone, stack, api):
    name = f"held-{uuid.uuid4().hex[:8]}"   # a queue without endpoint: 120 held messages
    for start in (0, 100):
        batch = [{"queue": name, "payload": {"i": i}} for i in range(start, min(start + 100, 120))]
        assert api.post(f"{Q}/publish-batch", {"messages": batch}).status_code == 202
    page = phone.page
    sign_in(phone, stack, f"#/deliveries?kind=queue&queue={name}")
    rows = page.locator("table.deliveries tbody tr")
    expect(rows).to_have_count(100)
    print(f"\n100 rows rendered in {page.locator('#list-status').get_attribute('data-render-ms')} ms")
    first_page = set(rows.evaluate_all("rs => rs.map(r => r.dataset.id)"))
    # nothing wider than the phone (a mobile browser would zoom the whole page out): wide tables
    # scroll inside their own box
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
        "no sideways page scroll"
    shot(page, "deliveries-phone", full_page=False)
    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(20)
    second_page = set(rows.evaluate_all("rs => rs.map(r => r.dataset.id)"))
    assert not first_page & second_page and len(first_page | second_page) == 120
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)


def test_an_api_error_is_shown_with_the_apis_message(web, stack, api):
    web.expected_statuses = {400}
    page = web.page
    sign_in(web, stack, "#/deliveries?status_code=abc")
    expect(page.get_by_role("alert")).to_contain_text("Error 400")
    # the message is the API's own, word for word
    resp = api.session.get(api.base + "/v1/scheduling/deliveries", params={"status_code": "abc"}, timeout=10)
    assert page.locator(".error-message").inner_text() == resp.json()["error"]["message"]


def _offset(iso: str, zone) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone).utcoffset().total_seconds())


def test_a_new_york_cron_job_shows_its_next_runs_across_a_dst_change(web, stack, api, receiver, path):
    page = web.page
    sign_in(web, stack, "#/cron/new")
    schedule = page.get_by_label("Schedule")
    schedule.fill("0 9 * *")      # validated as you type
    expect(page.locator("#cron-schedule-hint")).to_contain_text("4 field(s)")
    expect(schedule).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Create", exact=True)).to_be_disabled()
    page.get_by_label("Name", exact=True).fill(f"quarterly {path}")
    # on the 1st of every quarter: any five runs span a year, so they cross both of New York's changes
    schedule.fill("0 9 1 1,4,7,10 *")
    page.get_by_label("Time zone").fill("America/New_York")
    expect(page.locator("#cron-schedule-hint")).to_have_text(
        "Runs at 09:00, on day 1 of the month in January, April, July and October, America/New_York.")
    expect(page.locator("#schedule-preview tbody tr")).to_have_count(5)
    page.get_by_label("URL or queue name").fill(receiver.url(path))
    shot(page, "cron-new")
    page.get_by_role("button", name="Create", exact=True).click()

    expect(page.locator("#schedule-words")).to_have_text(
        "at 09:00, on day 1 of the month in January, April, July and October, America/New_York")
    cron_id = page.url.rsplit("/", 1)[1]
    job = api.get(f"/v1/scheduling/cron/{cron_id}").json()
    assert job["timezone"] == "America/New_York" and len(job["next_runs"]) == 5
    rows = page.locator("table.next-runs tbody tr")
    expect(rows).to_have_count(5)
    ny = ZoneInfo("America/New_York")
    now = datetime.now(timezone.utc).isoformat()
    offsets = [_offset(now, ny)] + [_offset(r, ny) for r in job["next_runs"]]
    changes = [i for i in range(5) if offsets[i + 1] != offsets[i]]
    assert changes, "the test needs runs across a DST change in New York"
    viewer = [_offset(now, VIEWER)] + [_offset(r, VIEWER) for r in job["next_runs"]]
    for i, run in enumerate(job["next_runs"]):
        cells = rows.nth(i).locator("td")
        expect(cells.nth(1)).to_contain_text("09:00")       # the job's zone: always 09:00 ...
        at = datetime.fromisoformat(run.replace("Z", "+00:00"))
        expect(cells.nth(2)).to_contain_text(at.astimezone(VIEWER).strftime("%H:%M"))   # ... the viewer's: not
        note = cells.nth(3)
        if i in changes:
            expect(note).to_contain_text("DST change in America/New_York")
        else:
            expect(note).not_to_contain_text("America/New_York")
        if viewer[i + 1] != viewer[i]:
            expect(note).to_contain_text("DST change in Europe/Paris")
    assert page.locator("tr.dst").count() >= len(changes)
    shot(page, "cron-job")

    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_role("button", name="Resume", exact=True)).to_be_visible()
    assert api.get(f"/v1/scheduling/cron/{cron_id}").json()["enabled"] is False
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    page.get_by_role("button", name="Trigger now").click()
    run_link = page.locator("table.runs tbody tr a").first
    expect(run_link).to_be_visible()
    assert receiver.wait_for(path, 1)[0].verified
    run_link.click()
    expect(page.locator("#delivery-state")).to_have_text("succeeded")

    page.goto(f"{stack.base_url}/console#/cron/{cron_id}/edit")
    page.get_by_label("Name", exact=True).fill(f"renamed {path}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name=f"renamed {path}")).to_be_visible()
    page.get_by_role("link", name="← All cron jobs").click()
    expect(page.locator(f'tr[data-id="{cron_id}"]')).to_contain_text("on day 1 of the month")
    shot(page, "cron-list")
    page.locator(f'tr[data-id="{cron_id}"] a').click()
    confirm = page.get_by_role("button", name="Yes, delete this job and its schedules")
    expect(confirm).to_be_hidden()     # deleting takes a second, deliberate click
    page.get_by_role("button", name="Delete…").click()
    confirm.click()
    expect(page.get_by_role("heading", name="Cron jobs")).to_be_visible()
    expect(page.locator(f'tr[data-id="{cron_id}"]')).to_have_count(0)


def test_the_browsers_schedule_preview_agrees_with_the_service(web, stack):
    """The form's preview (chalicelib/console/schedule.js) against chalicelib/core/schedules.py."""
    from chalicelib.core import schedules
    web.page.goto(f"{stack.base_url}/console")
    after = datetime(2027, 3, 1, tzinfo=timezone.utc)
    cases = [("0 9 1 1,4,7,10 *", "America/New_York"), ("30 2 * * *", "America/New_York"),
             ("*/30 1 * * *", "America/New_York"), ("0 9 * * 1-5", "Europe/Paris"),
             ("0 0 29 2 *", "UTC"), ("0 12 1,15 * MON", "Asia/Kolkata"), ("45 23 * * 0", "Australia/Sydney")]
    js = web.page.evaluate("""async ([cases, after]) => {
        const m = await import("./console/schedule.js");
        return cases.map(([e, z]) => m.nextRuns(m.parse(e), z, 5, new Date(after)).map(d => d.toISOString()));
    }""", [cases, after.isoformat()])
    for (expression, zone), got in zip(cases, js):
        want = [d.strftime("%Y-%m-%dT%H:%M:%S.000Z") for d in
                schedules.next_runs(schedules.parse(expression), zone, after)]
        assert got == want, (expression, zone)


def test_attaching_an_endpoint_releases_a_queues_held_messages(web, stack, api, receiver, path):
    page = web.page
    name = "console" + path.replace("/", "-")
    ids = [api.post(f"{Q}/publish", {"queue": name, "payload": {"i": i}}).json()["message_id"] for i in range(3)]
    sign_in(web, stack, "#/queues")
    row = page.locator(f'tr[data-name="{name}"]')
    expect(row.locator(".count-held")).to_have_text("3")
    shot(page, "queues")
    row.get_by_role("link", name=name).click()
    expect(page.get_by_text("3 held message(s) will be delivered")).to_be_visible()
    expect(page.locator("table.messages tbody tr")).to_have_count(3)
    shot(page, "queue-held")
    page.get_by_label("Endpoint URL").fill(receiver.url(path))
    page.get_by_role("button", name="Attach endpoint").click()
    expect(page.locator("#queue-counts .count-held")).to_have_text("0")
    expect(page.locator("table.messages tbody .badge")).to_have_text(["succeeded"] * 3, timeout=20_000)
    shot(page, "queue-released")
    arrivals = receiver.wait_for(path, 3)
    assert sorted(a.json["i"] for a in arrivals) == [0, 1, 2] and all(a.verified for a in arrivals)
    assert {a.headers["webhook-id"] for a in arrivals} == set(ids)
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_role("button", name="Unpause", exact=True)).to_be_visible()
    assert api.get(f"{Q}/{name}").json()["paused"] is True
    page.get_by_role("button", name="Unpause", exact=True).click()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()


def test_a_scoped_key_is_made_shown_and_its_making_is_in_the_audit_view(web, stack, api):
    page = web.page
    sign_in(web, stack, "#/project")
    page.get_by_label("read: every GET, the audit log").check()
    page.get_by_label("publish: queue publish, webhook send, retries").check()
    page.get_by_label("Only these queues (publish)").fill("orders, emails")
    page.get_by_label("Name").fill("<b>ci</b>")
    page.get_by_role("button", name="Create a key").click()
    expect(page.locator("#new-key")).to_have_text(re.compile(r"^ifr_pk_proj_[A-Za-z0-9]{32,64}$"))
    made = [k for k in api.get("/v1/auth/keys").json()["keys"] if k["name"] == "<b>ci</b>"]
    assert len(made) == 1 and made[0]["scopes"] == ["read", "publish"] and made[0]["queues"] == ["orders", "emails"]
    row = page.locator(f'tr[data-key="{made[0]["key_id"]}"]')
    expect(row.locator("td").nth(1)).to_have_text("<b>ci</b>")   # a name is text, never markup
    expect(row.locator("td.scopes")).to_have_text("read, publish")
    expect(row.locator("td").nth(3)).to_have_text("orders, emails")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_label("Resource id").fill(made[0]["key_id"])
    page.get_by_role("button", name="Filter").click()
    entry = page.locator("tr[data-audit]")
    expect(entry).to_have_count(1)
    expect(entry.locator("td").nth(3)).to_have_text("/v1/auth/keys")
    expect(entry.locator("td").nth(5)).to_have_text("201")
    shot(page, "audit")
    api.delete(f"/v1/auth/keys/{made[0]['key_id']}")


def test_keys_limits_and_the_secret_rotation(web, stack, api):
    """Last in the module: a project rotates once per 24 h."""
    from chalicelib.services.tenancy import projects
    page = web.page
    sign_in(web, stack, "#/project")
    expect(page.locator('tr[data-limit="deliveries_per_day"]')).to_be_visible()
    # the stack's project is on the unlimited plan: what is used is counted for the resources
    expect(page.locator('tr[data-limit="queues"] .usage')).to_have_text(re.compile(r"^[0-9,]+$"))
    page.get_by_role("button", name="Create a key").click()
    new_key = page.locator("#new-key")
    expect(new_key).to_have_text(re.compile(r"^ifr_pk_proj_[A-Za-z0-9]{32,64}$"))
    key = new_key.inner_text()
    key_id = next(k["key_id"] for k in api.get("/v1/auth/me").json()["keys"] if k["key"].endswith(key[-4:]))
    expect(page.locator(f'tr[data-key="{key_id}"]')).to_be_visible()
    shot(page, "project")
    page.locator(f'button[data-key="{key_id}"]').click()
    expect(page.locator(f'tr[data-key="{key_id}"] td').nth(5)).not_to_have_text("—")   # revoked at
    revoked = {k["key_id"]: k["revoked_at"] for k in api.get("/v1/auth/me").json()["keys"]}
    assert revoked[key_id] is not None

    old = projects.current_secret(stack.project_id)
    expect(page.locator("#current-secret")).to_have_count(0)   # hidden until asked for
    page.get_by_role("button", name="Reveal the signing secret").click()
    expect(page.locator("#current-secret")).to_have_text(old)
    page.get_by_role("button", name="Rotate the secret").click()
    expect(page.locator("#rotation-window")).to_contain_text("24 h")
    new = page.locator("#current-secret").inner_text()
    assert new != old and new == projects.current_secret(stack.project_id)
    assert projects.signing_secrets(stack.project_id) == [new, old]   # both sign for 24 h
    shot(page, "project-rotated")


def test_a_topics_subscriptions_are_shown_paused_and_their_deliveries_found(web, stack, api, receiver, path):
    page = web.page
    topic = "console-" + uuid.uuid4().hex[:8]
    assert api.put(f"/v1/scheduling/topics/{topic}", {"description": "Orders"}).status_code == 200
    paid = api.post(f"/v1/scheduling/topics/{topic}/subscriptions",
                    {"url": receiver.url(path), "event_types": ["order.paid"]}).json()["subscription_id"]
    big = api.post(f"/v1/scheduling/topics/{topic}/subscriptions",
                   {"url": receiver.url(path + "-big"), "filter": {"amount": [{"numeric": [">", 100]}]}}).json()
    sent = api.post(f"/v1/scheduling/topics/{topic}/publish", {"event_type": "order.paid", "payload": {"amount": 5}}).json()
    assert sent["matched"] == 1
    sign_in(web, stack, "#/topics")
    row = page.locator(f'tr[data-name="{topic}"]')
    expect(row.locator(".subscriptions")).to_have_text("2")
    row.get_by_role("link", name=topic).click()
    expect(page.locator("table.subscriptions tbody tr")).to_have_count(2)
    expect(page.locator(f'tr[data-id="{paid}"] .types')).to_have_text("order.paid")
    expect(page.locator(f'tr[data-id="{big["subscription_id"]}"] .filter')).to_contain_text('"numeric"')
    shot(page, "topic")
    page.locator(f'tr[data-id="{paid}"]').get_by_role("button", name="Pause").click()
    expect(page.locator(f'tr[data-id="{paid}"]').get_by_role("button", name="Resume")).to_be_visible()
    assert api.get(f"/v1/scheduling/subscriptions/{paid}").json()["paused"] is True
    page.locator(f'tr[data-id="{paid}"]').get_by_role("button", name="Resume").click()
    expect(page.locator(f'tr[data-id="{paid}"]').get_by_role("button", name="Pause")).to_be_visible()
    page.get_by_role("link", name=paid).click()
    [delivery] = sent["deliveries"]
    expect(page.locator("table tbody tr")).to_have_count(1)
    expect(page.locator("table tbody")).to_contain_text(delivery["delivery_id"])
    assert receiver.wait_for(path, 1)[0].headers["webhook-id"] == delivery["delivery_id"]
