"""Issue 24's smaller findings, as a caller sees them: a body that is not declared JSON gets 415
(no cross-site form or text/plain fetch can drive the API); names with control or format
characters, and names made only of dots, get 400 naming the field."""
import json

import pytest

CRON = "/v1/scheduling/cron"
JOB = {"name": "daily-digest", "schedule": "0 9 * * *", "url": "https://hooks.example.com/digest"}


def error(resp):
    body = json.loads(resp.body)
    assert set(body["error"]) >= {"code", "message", "field"}
    return body["error"]


# -- 415: a body must be declared application/json

@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", None])
def test_a_body_not_declared_json_gets_415_and_changes_nothing(api, content_type):
    headers = {"Content-Type": content_type} if content_type else {"Content-Type": ""}
    resp = api.call("POST", CRON, raw=json.dumps(JOB).encode(), headers=headers)
    assert resp.status_code == 415
    assert resp.data["error"]["code"] == "unsupported_media_type"
    assert "application/json" in resp.data["error"]["message"]
    assert api.call("GET", CRON).data["items"] == []


@pytest.mark.parametrize("method,path", [("PUT", "/v1/scheduling/queue/orders"),
                                         ("PATCH", "/v1/auth/project"),
                                         ("POST", "/v1/scheduling/webhook/send")])
def test_every_body_method_checks_it(api, method, path):
    resp = api.call(method, path, raw=b'{"url": "https://hooks.example.com/x"}',
                    headers={"Content-Type": "text/plain"})
    assert resp.status_code == 415


def test_json_with_a_charset_is_json(api):
    resp = api.call("POST", CRON, raw=json.dumps(JOB).encode(),
                    headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert resp.status_code == 201


def test_no_key_is_no_way_around_it(client):
    """Before the key is looked at: a page cannot activate a trial project with a text/plain
    body either."""
    resp = client.http.post("/v1/auth/activate", headers={"Content-Type": "text/plain"}, body=b"{}")
    assert resp.status_code == 415
    assert error(resp)["code"] == "unsupported_media_type"


def test_activation_with_no_body_must_still_be_one_a_page_cannot_send_cross_site(client):
    """A page can POST with no body and no Content-Type to any site (`fetch(no-cors)`): for the
    one route that needs no key, that is refused; JSON declared, or an Idempotency-Key (both make
    a browser ask first), is accepted."""
    resp = client.http.post("/v1/auth/activate", body=b"")
    assert resp.status_code == 415 and error(resp)["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in error(resp)["message"]
    for headers in ({"Content-Type": "application/json"}, {"Idempotency-Key": "k" * 36}):
        assert client.http.post("/v1/auth/activate", headers=headers, body=b"").status_code == 201, headers


def test_an_empty_body_needs_no_content_type(api, client):
    job = api.call("POST", CRON, JOB).data
    resp = client.http.post(f"{CRON}/{job['cron_id']}/pause",
                            headers={"Authorization": f"Bearer {api.key}"}, body=b"")
    assert resp.status_code == 200, resp.body


# -- 400: control and format characters in names

@pytest.mark.parametrize("bad", ["nul\x00name", "two\r\nlines", "tab\there", "abc\u202eexe.txt",
                                 "zero\u200dwidth", "bom\ufeff", "del\x7f", "c1\x85"])
def test_a_cron_name_with_control_or_format_characters_gets_400(api, bad):
    resp = api.call("POST", CRON, {**JOB, "name": bad})
    assert resp.status_code == 400
    assert resp.data["error"]["field"] == "name"
    assert "control or format character" in resp.data["error"]["message"]
    job = api.call("POST", CRON, JOB).data
    patched = api.call("PATCH", f"{CRON}/{job['cron_id']}", {"name": bad})
    assert patched.status_code == 400 and patched.data["error"]["field"] == "name"


def test_visible_unicode_in_a_cron_name_is_fine(api):
    resp = api.call("POST", CRON, {**JOB, "name": "Résumé digest — 每日 ✓"})
    assert resp.status_code == 201


@pytest.mark.parametrize("bad", ["nul\x00", "crlf\r\n", "rtl\u202e", "zw\u200d", "é"])
def test_queue_names_and_flow_keys_take_no_control_characters(api, bad):
    resp = api.call("POST", "/v1/scheduling/queue/publish", {"queue": bad, "payload": {}})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "queue"
    resp = api.call("POST", CRON, {**JOB, "flow_key": bad})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "flow_key"


def test_header_names_and_values_take_no_control_characters(api):
    send = {"url": "https://hooks.example.com/x", "payload": {}}
    for headers in ({"x-a": "one\r\nx-b: two"}, {"x-a": "nul\x00"}, {"x-a": "rtl\u202e"}, {"x-\u200da": "v"}):
        resp = api.call("POST", "/v1/scheduling/webhook/send", {**send, "headers": headers})
        assert resp.status_code == 400
        assert resp.data["error"]["field"].startswith("headers.")


# -- 400: names made only of dots

@pytest.mark.parametrize("dots", [".", "..", "..."])
def test_a_queue_named_only_dots_gets_400(api, dots):
    resp = api.call("POST", "/v1/scheduling/queue/publish", {"queue": dots, "payload": {}})
    assert resp.status_code == 400
    assert resp.data["error"]["field"] == "queue"
    assert "dots" in resp.data["error"]["message"]
    resp = api.call("POST", CRON, {"name": "j", "schedule": "0 9 * * *", "queue": dots})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "queue"


@pytest.mark.parametrize("dots", [".", "..", "..."])
def test_a_flow_key_of_only_dots_gets_400(api, dots):
    resp = api.call("POST", CRON, {**JOB, "flow_key": dots})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "flow_key"
    resp = api.call("POST", "/v1/scheduling/webhook/send",
                    {"url": "https://hooks.example.com/x", "payload": {}, "flow_key": dots})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "flow_key"


def test_dots_with_anything_else_are_fine(api):
    assert api.call("POST", "/v1/scheduling/queue/publish", {"queue": "v1.2", "payload": {}}).status_code == 202
    assert api.call("POST", "/v1/scheduling/queue/publish", {"queue": ".hidden", "payload": {}}).status_code == 202
