"""The project page's signatures setting in a real browser: v1, v1 and v1a, v1a chosen and saved
(the API's setting changes with it), v1a's public keys shown as the API lists them, and a key
that may not change settings shown the API's refusal, with nothing changed."""
from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in

ME = "/v1/auth/me"


def signatures(api):
    return api.get(ME).json()["signatures"]


def save(page, choice):
    page.get_by_label(choice, exact=True).check()
    page.get_by_role("button", name="Save signatures").click()


def test_the_signatures_setting_is_saved_and_v1as_public_keys_are_shown(web, stack, api):
    page = web.page
    assert signatures(api) == ["v1"]
    try:
        sign_in(web, stack, "#/project")
        expect(page.get_by_label("v1 (HMAC, default)", exact=True)).to_be_checked()
        expect(page.locator("#public-keys table")).to_have_count(0)   # no v1a: no key to show

        save(page, "v1 and v1a (migrating)")
        expect(page.locator("#signatures-saved")).to_contain_text("v1 and v1a")
        assert signatures(api) == ["v1", "v1a"]
        [key] = api.get("/v1/scheduling/webhook/public-keys").json()["keys"]
        row = page.locator(f'#public-keys tr[data-key="{key["key_id"]}"]')
        expect(row.locator(".public-key")).to_have_text(key["public_key"])
        assert key["public_key"].startswith("whpk_")
        shot(page, "project-signatures")

        save(page, "v1a (Ed25519)")
        expect(page.locator("#signatures-saved")).to_contain_text("carry v1a signatures")
        assert signatures(api) == ["v1a"]
        expect(row.locator(".public-key")).to_have_text(key["public_key"])
        page.reload()   # the page shows the setting as stored
        expect(page.get_by_label("v1a (Ed25519)", exact=True)).to_be_checked()
        expect(page.locator("#public-keys .public-key")).to_have_text(key["public_key"])

        save(page, "v1 (HMAC, default)")
        expect(page.locator("#signatures-saved")).to_contain_text("carry v1 signatures")
        assert signatures(api) == ["v1"]
        expect(page.locator("#public-keys table")).to_have_count(0)
    finally:
        api.session.patch(f"{stack.base_url}/v1/auth/project", json={"signatures": ["v1"]}, timeout=30)


def test_a_key_that_may_not_change_settings_sees_the_apis_refusal_and_nothing_changes(web, stack, api):
    page = web.page
    web.expected_statuses = {403}   # the read-only key's save, on purpose
    made = api.post("/v1/auth/keys", {"scopes": ["read"], "name": "console-reader"}).json()
    try:
        page.goto(f"{stack.base_url}/console#/project")
        page.get_by_label("API key").fill(made["api_key"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_label("v1 (HMAC, default)", exact=True)).to_be_checked()
        save(page, "v1a (Ed25519)")
        alert = page.locator('form[aria-label="Signatures"]').get_by_role("alert")
        expect(alert).to_contain_text("Error 403")
        assert alert.locator(".error-message").inner_text().strip(), "the API's own message is shown"
        expect(page.locator("#signatures-saved")).to_have_text("")
        assert signatures(api) == ["v1"]
    finally:
        api.delete(f"/v1/auth/keys/{made['key_id']}")
