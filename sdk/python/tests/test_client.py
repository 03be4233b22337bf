import json
import os
import stat
import time

import pytest

from infrai import Infrai, errors
from infrai._http import Transport

KEY = "ifr_pk_proj_" + "a" * 40


def test_cron_create_sends_the_seed_fields_and_returns_a_plain_dict(client, fake):
    fake.answer(201, {"cron_id": "cron_1", "name": "daily-digest"})
    job = client.cron.create("0 9 * * *", "send-daily-digest", name="daily-digest", timezone="UTC",
                             payload={"segment": "active-users"})
    assert type(job) is dict and job["cron_id"] == "cron_1"
    method, path, headers, body = fake.requests[0]
    assert (method, path) == ("POST", "/v1/scheduling/cron")
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Idempotency-Key"].startswith("idem_")
    assert body == {"name": "daily-digest", "schedule": "0 9 * * *", "queue": "send-daily-digest",
                    "timezone": "UTC", "retries": 3, "timeout_seconds": 300, "payload": {"segment": "active-users"}}



def test_a_trace_context_is_sent_as_headers_never_in_the_body(client, fake):
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    client.queue.publish("q", {}, traceparent=tp, tracestate="rojo=1")
    client.queue.publish_batch([{"queue": "q", "payload": {}}], traceparent=tp)
    client.webhook.send("https://example.com/h", {}, traceparent=tp)
    client.cron.trigger("cron_1", traceparent=tp)
    client.queue.publish("q", {})
    for _, _, headers, body in fake.requests[:4]:
        assert headers["traceparent"] == tp and "traceparent" not in (body or {})
    assert fake.requests[0][2]["tracestate"] == "rojo=1" and "tracestate" not in fake.requests[1][2]
    assert "traceparent" not in fake.requests[4][2]

def test_cron_task_url_or_queue_and_default_names(client, fake):
    client.cron.create("*/5 * * * *", "https://api.example.com/hooks/tick?x=1")
    client.cron.create("*/5 * * * *", "reports")
    url_body, queue_body = fake.requests[0][3], fake.requests[1][3]
    assert url_body["url"] == "https://api.example.com/hooks/tick?x=1" and "queue" not in url_body
    assert url_body["name"] == "api.example.com/hooks/tick"
    assert queue_body["queue"] == "reports" and queue_body["name"] == "reports" and "payload" not in queue_body


def test_cron_to_a_topic_sends_topic_and_event_type_and_refuses_two_targets(client, fake):
    client.cron.create("0 9 * * *", topic="reports", event_type="report.daily", payload={"rows": 1})
    client.cron.update("cron_1", topic="reports", event_type="report.weekly")
    created, changed = fake.requests[0][3], fake.requests[1][3]
    assert created["topic"] == "reports" and created["event_type"] == "report.daily" and created["name"] == "reports"
    assert "url" not in created and "queue" not in created
    assert changed == {"topic": "reports", "event_type": "report.weekly"}
    with pytest.raises(ValueError):
        client.cron.create("0 9 * * *", "https://a.example.com", topic="reports", event_type="x")
    with pytest.raises(ValueError):
        client.cron.create("0 9 * * *")
    assert len(fake.requests) == 2


def test_cron_backfill_sends_the_window_and_the_catch_up_window_is_a_field(client, fake):
    from datetime import datetime, timedelta, timezone
    ny = timezone(timedelta(hours=-5))
    client.cron.backfill("cron_1", datetime(2026, 11, 23, tzinfo=ny), "2026-11-30T00:00:00Z")
    client.cron.create("0 * * * *", "reports", catch_up_window_seconds=3600)
    client.cron.update("cron_1", catch_up_window_seconds=0)
    (_, path, headers, body), create, update = fake.requests
    assert path == "/v1/scheduling/cron/cron_1/backfill" and headers["Idempotency-Key"].startswith("idem_")
    assert body == {"since": "2026-11-23T05:00:00Z", "until": "2026-11-30T00:00:00Z"}
    assert create[3]["catch_up_window_seconds"] == 3600 and update[3] == {"catch_up_window_seconds": 0}
    with pytest.raises(ValueError, match="timezone-aware"):
        client.cron.backfill("cron_1", datetime(2026, 11, 23), "2026-11-30T00:00:00Z")


def test_every_method_hits_its_route(client, fake):
    c = client
    calls = [
        (lambda: c.cron.list(limit=5), "GET", "/v1/scheduling/cron?limit=5"),
        (lambda: c.cron.get("cron_1"), "GET", "/v1/scheduling/cron/cron_1"),
        (lambda: c.cron.update("cron_1", cron_expr="0 10 * * *", enabled=False), "PATCH", "/v1/scheduling/cron/cron_1"),
        (lambda: c.cron.delete("cron_1"), "DELETE", "/v1/scheduling/cron/cron_1"),
        (lambda: c.cron.pause("cron_1"), "POST", "/v1/scheduling/cron/cron_1/pause"),
        (lambda: c.cron.resume("cron_1"), "POST", "/v1/scheduling/cron/cron_1/resume"),
        (lambda: c.cron.trigger("cron_1"), "POST", "/v1/scheduling/cron/cron_1/trigger"),
        (lambda: c.cron.runs("cron_1"), "GET", "/v1/scheduling/cron/cron_1/runs"),
        (lambda: c.cron.backfill("cron_1", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"), "POST",
         "/v1/scheduling/cron/cron_1/backfill"),
        (lambda: c.queue.publish("q", {"a": 1}, delay_seconds=0), "POST", "/v1/scheduling/queue/publish"),
        (lambda: c.queue.publish_batch([{"queue": "q", "payload": {}}]), "POST", "/v1/scheduling/queue/publish-batch"),
        (lambda: c.queue.create("q", "https://x.example.com"), "PUT", "/v1/scheduling/queue/q"),
        (lambda: c.queue.update("q", url=None), "PUT", "/v1/scheduling/queue/q"),
        (lambda: c.queue.get("a b"), "GET", "/v1/scheduling/queue/a%20b"),
        (lambda: c.queue.list(), "GET", "/v1/scheduling/queue"),
        (lambda: c.queue.delete("q", force=True), "DELETE", "/v1/scheduling/queue/q?force=true"),
        (lambda: c.queue.messages("q", state="held"), "GET", "/v1/scheduling/queue/q/messages?state=held"),
        (lambda: c.queue.message("msg_1"), "GET", "/v1/scheduling/queue/messages/msg_1"),
        (lambda: c.queue.cancel("msg_1"), "POST", "/v1/scheduling/queue/messages/msg_1/cancel"),
        (lambda: c.queue.retry("msg_1"), "POST", "/v1/scheduling/queue/messages/msg_1/retry"),
        (lambda: c.webhook.send("https://x.example.com", {}, retry=5), "POST", "/v1/scheduling/webhook/send"),
        (lambda: c.webhook.get("dlv_1"), "GET", "/v1/scheduling/webhook/deliveries/dlv_1"),
        (lambda: c.webhook.list(state="failed"), "GET", "/v1/scheduling/webhook/deliveries?state=failed"),
        (lambda: c.webhook.retry("dlv_1"), "POST", "/v1/scheduling/webhook/deliveries/dlv_1/retry"),
        (lambda: c.webhook.cancel("dlv_1"), "POST", "/v1/scheduling/webhook/deliveries/dlv_1/cancel"),
        (lambda: c.webhook.secret(), "GET", "/v1/scheduling/webhook/secret"),
        (lambda: c.webhook.rotate_secret(), "POST", "/v1/scheduling/webhook/secret/rotate"),
        (lambda: c.webhook.public_keys(), "GET", "/v1/scheduling/webhook/public-keys"),
        (lambda: c.webhook.rotate_public_key(), "POST", "/v1/scheduling/webhook/public-keys/rotate"),
        (lambda: c.auth.me(), "GET", "/v1/auth/me"),
        (lambda: c.auth.create_key(), "POST", "/v1/auth/keys"),
        (lambda: c.auth.revoke_key("key_1"), "DELETE", "/v1/auth/keys/key_1"),
        (lambda: c.deliveries.list(state="failed", host="x.example.com", limit=5), "GET",
         "/v1/scheduling/deliveries?state=failed&host=x.example.com&limit=5"),
        (lambda: c.deliveries.replay(state="failed", since="2026-12-01T00:00:00Z", queue=None), "POST",
         "/v1/scheduling/deliveries/replay"),
        (lambda: c.deliveries.replay_status("rpl_1"), "GET", "/v1/scheduling/replays/rpl_1"),
        (lambda: c.events.set("https://ops.example.com/events"), "PUT", "/v1/scheduling/events"),
        (lambda: c.events.get(), "GET", "/v1/scheduling/events"),
        (lambda: c.events.delete(), "DELETE", "/v1/scheduling/events"),
    ]
    for call, method, path in calls:
        call()
        got = fake.requests[-1]
        assert (got[0], got[1]) == (method, path)
        assert ("Idempotency-Key" in got[2]) == (method == "POST")
    assert fake.requests[2][3] == {"schedule": "0 10 * * *", "enabled": False}
    assert fake.requests[12][3] == {"url": None}
    assert fake.requests[20][3] == {"url": "https://x.example.com", "payload": {}, "retries": 5}
    assert fake.requests[-5][3] == {"state": "failed", "since": "2026-12-01T00:00:00Z"}
    assert fake.requests[-3][3] == {"url": "https://ops.example.com/events"}


def test_scoped_keys_and_the_audit_log(client, fake):
    c = client
    c.auth.create_key(scopes=("read", "publish"), queues=["q1"], name="ci")
    c.auth.create_key()
    c.auth.list_keys()
    c.auth.audit(since="2026-12-01T00:00:00Z", key_id="key_1", resource="cron_1", limit=5)
    c.auth.audit()
    got = [(r[0], r[1], r[3]) for r in fake.requests]
    assert got == [("POST", "/v1/auth/keys", {"scopes": ["read", "publish"], "queues": ["q1"], "name": "ci"}),
                   ("POST", "/v1/auth/keys", {}),
                   ("GET", "/v1/auth/keys", None),
                   ("GET", "/v1/auth/audit?since=2026-12-01T00%3A00%3A00Z&key_id=key_1&resource=cron_1&limit=5", None),
                   ("GET", "/v1/auth/audit", None)]
    fake.answer(403, {"error": {"code": "forbidden", "message": "This API key lacks the 'admin' scope",
                                "field": None, "missing_scope": "admin"}})
    with pytest.raises(errors.Forbidden) as e:
        c.auth.create_key()
    assert e.value.status == 403 and e.value.body["error"]["missing_scope"] == "admin"


def test_project_settings_and_expunge(client, fake):
    c = client
    c.auth.update_project(retention_days={"succeeded": 7})
    c.auth.update_project(signatures=("v1", "v1a"))
    c.auth.expunge_project("proj_1", idempotency_key="k1")
    c.auth.expunge_status()
    got = [(r[0], r[1], r[3]) for r in fake.requests]
    assert got == [("PATCH", "/v1/auth/project", {"retention_days": {"succeeded": 7}}),
                   ("PATCH", "/v1/auth/project", {"signatures": ["v1", "v1a"]}),
                   ("POST", "/v1/auth/project/expunge", {"confirm": "proj_1"}),
                   ("GET", "/v1/auth/project/expunge", None)]
    assert fake.requests[2][2]["Idempotency-Key"] == "k1"
    with pytest.raises(TypeError, match="setting"):
        c.auth.update_project()


def test_callbacks_and_retry_schedules_are_sent_by_their_api_names(client, fake):
    c = client
    c.webhook.send("https://x.example.com", {}, retry_schedule=[1, 5], callback_url="https://cb.example.com/ok",
                   failure_callback_url="https://cb.example.com/fail")
    c.queue.publish("q", {"a": 1}, callback_url="https://cb.example.com/ok")
    c.queue.create("q", "https://x.example.com", retry_schedule="exponential")
    c.queue.update("q", retry_schedule=None)
    c.cron.create("0 9 * * *", "q", failure_callback_url="https://cb.example.com/fail", retry_schedule="svix")
    c.cron.update("cron_1", callback_url=None)
    bodies = [r[3] for r in fake.requests]
    assert bodies[0] == {"url": "https://x.example.com", "payload": {}, "retry_schedule": [1, 5],
                         "callback_url": "https://cb.example.com/ok", "failure_callback_url": "https://cb.example.com/fail"}
    assert bodies[1] == {"queue": "q", "payload": {"a": 1}, "callback_url": "https://cb.example.com/ok"}
    assert bodies[2] == {"url": "https://x.example.com", "retry_schedule": "exponential"}
    assert bodies[3] == {"retry_schedule": None}                    # back to the default
    assert bodies[4]["failure_callback_url"] == "https://cb.example.com/fail" and bodies[4]["retry_schedule"] == "svix"
    assert "callback_url" not in bodies[4]
    assert bodies[5] == {"callback_url": None}


def test_flow_control_and_breaker_fields_by_the_apis_names(client, fake):
    c = client
    calls = [
        (lambda: c.queue.create("q", "https://x.example.com", rate_limit={"count": 10, "period_seconds": 1},
                                parallelism=1, circuit_breaker={"failures": 5}), "PUT", "/v1/scheduling/queue/q",
         {"url": "https://x.example.com", "rate_limit": {"count": 10, "period_seconds": 1}, "parallelism": 1,
          "circuit_breaker": {"failures": 5}}),
        (lambda: c.queue.update("q", rate_limit=None, circuit_breaker=None), "PUT", "/v1/scheduling/queue/q",
         {"rate_limit": None, "circuit_breaker": None}),
        (lambda: c.flows.put("acme", parallelism=2), "PUT", "/v1/scheduling/flows/acme", {"parallelism": 2}),
        (lambda: c.flows.get("acme"), "GET", "/v1/scheduling/flows/acme", None),
        (lambda: c.flows.list(limit=5), "GET", "/v1/scheduling/flows?limit=5", None),
        (lambda: c.flows.delete("acme"), "DELETE", "/v1/scheduling/flows/acme", None),
        (lambda: c.webhook.send("https://x.example.com", {}, flow_key="acme"), "POST", "/v1/scheduling/webhook/send",
         {"url": "https://x.example.com", "payload": {}, "flow_key": "acme"}),
        (lambda: c.cron.update("cron_1", flow_key=None), "PATCH", "/v1/scheduling/cron/cron_1", {"flow_key": None}),
        (lambda: c.webhook.send("https://x.example.com", {}, circuit_breaker=None), "POST",
         "/v1/scheduling/webhook/send", {"url": "https://x.example.com", "payload": {}, "circuit_breaker": None}),
        (lambda: c.webhook.send("https://x.example.com", {}), "POST", "/v1/scheduling/webhook/send",
         {"url": "https://x.example.com", "payload": {}}),   # not given: the default breaker, nothing sent
        (lambda: c.cron.create("0 * * * *", "https://x.example.com/j", name="j", circuit_breaker={"failures": 3}),
         "POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 * * * *", "url": "https://x.example.com/j",
                                         "timezone": "UTC", "retries": 3, "timeout_seconds": 300,
                                         "circuit_breaker": {"failures": 3}}),
        (lambda: c.cron.update("cron_1", circuit_breaker=None), "PATCH", "/v1/scheduling/cron/cron_1",
         {"circuit_breaker": None}),
        (lambda: c.endpoints.list(), "GET", "/v1/scheduling/endpoints", None),
        (lambda: c.endpoints.release("ep_1"), "POST", "/v1/scheduling/endpoints/ep_1/release", None),
    ]
    for call, method, path, body in calls:
        call()
        got = fake.requests[-1]
        assert (got[0], got[1]) == (method, path)
        if body is not None:
            assert got[3] == body


def test_endpoint_auth_is_sent_by_the_apis_name(client, fake):
    c = client
    oauth2 = {"type": "oauth2_client_credentials", "token_url": "https://auth.example.com/token",
              "client_id": "id", "client_secret": "s"}
    mtls = {"type": "mtls", "certificate": "-----BEGIN CERTIFICATE-----...", "private_key": "-----BEGIN PRIVATE KEY-----..."}
    calls = [
        (lambda: c.webhook.send("https://x.example.com", {}, auth=oauth2),
         {"url": "https://x.example.com", "payload": {}, "auth": oauth2}),
        (lambda: c.queue.create("q", "https://x.example.com", auth=mtls), {"url": "https://x.example.com", "auth": mtls}),
        (lambda: c.queue.update("q", auth=None), {"auth": None}),
        (lambda: c.cron.create("0 * * * *", "https://x.example.com/j", name="j", auth=oauth2),
         {"name": "j", "schedule": "0 * * * *", "url": "https://x.example.com/j", "timezone": "UTC", "retries": 3,
          "timeout_seconds": 300, "auth": oauth2}),
        (lambda: c.cron.update("cron_1", auth=None), {"auth": None}),
        (lambda: c.cron.update("cron_1", name="n"), {"name": "n"}),   # not given: left as it is
    ]
    for call, body in calls:
        call()
        assert fake.requests[-1][3] == body


def test_server_errors_surface_unchanged(client, fake):
    fake.answer(400, {"error": {"code": "invalid_schedule", "message": "Bad cron.", "field": "schedule"}})
    with pytest.raises(errors.BadRequest) as e:
        client.cron.create("nope", "q")
    assert (e.value.status, e.value.code, e.value.message, e.value.field) == (400, "invalid_schedule", "Bad cron.", "schedule")
    for status, cls in [(401, errors.Unauthorized), (404, errors.NotFound), (409, errors.Conflict),
                        (413, errors.PayloadTooLarge), (422, errors.IdempotencyKeyReused)]:
        fake.answer(status, {"error": {"code": "x", "message": "m"}})
        with pytest.raises(cls) as e:
            client.cron.get("cron_1")
        assert isinstance(e.value, errors.InfraiError) and e.value.status == status


def test_retries_reuse_the_idempotency_key_and_honour_retry_after(fake):
    slept = []
    client = Infrai(api_key=KEY, base_url=fake.url, transport=Transport(sleep=slept.append))
    fake.answer(503, {"error": {"code": "unavailable", "message": "later"}})
    fake.answer(429, {"error": {"code": "quota_exceeded", "message": "slow"}}, {"Retry-After": "2"})
    fake.answer(502, None)
    fake.answer(202, {"message_id": "msg_1"})
    assert client.queue.publish("q", {}) == {"message_id": "msg_1"}
    keys = {r[2]["Idempotency-Key"] for r in fake.requests}
    assert len(fake.requests) == 4 and len(keys) == 1
    assert slept[1] == 2.0 and len(slept) == 3
    client.queue.publish("q", {}, idempotency_key="mine")
    assert fake.requests[-1][2]["Idempotency-Key"] == "mine"
    assert fake.requests[-1][2]["Idempotency-Key"] not in keys


def test_retries_give_up_and_raise(client, fake):
    fake.default = (500, {"error": {"code": "internal_error", "message": "boom"}}, {})
    with pytest.raises(errors.ServerError) as e:
        client.webhook.send("https://x.example.com", {})
    assert len(fake.requests) == 4 and e.value.code == "internal_error"


def test_a_long_retry_after_is_not_waited_for(client, fake):
    fake.answer(429, {"error": {"code": "quota_exceeded", "message": "daily limit"}}, {"Retry-After": "3600"})
    with pytest.raises(errors.RateLimited) as e:
        client.queue.publish("q", {})
    assert e.value.retry_after == 3600 and len(fake.requests) == 1


def test_a_429_that_resets_tomorrow_is_not_retried_even_without_retry_after(client, fake):
    import datetime
    tomorrow = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=20)).isoformat()
    fake.answer(429, {"error": {"code": "quota_exceeded", "message": "daily", "resets_at": tomorrow}})
    with pytest.raises(errors.RateLimited) as e:
        client.queue.publish("q", {})
    assert len(fake.requests) == 1 and e.value.retry_after > 3600


def test_connection_errors_retry_with_the_same_key_then_fail_clearly(fake):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    seen = []

    class Recording(Transport):
        def request(self, method, url, *, headers, **kw):
            seen.append(headers.get("Idempotency-Key"))
            return super().request(method, url, headers=headers, **kw)
    client = Infrai(api_key=KEY, base_url=dead, transport=Recording(sleep=lambda s: None, max_retries=2))
    with pytest.raises(errors.ConnectionFailed) as e:
        client.cron.trigger("cron_1")
    assert "Could not reach" in str(e.value) and len(seen) == 1

    # a flaky network: the same key on the retry that gets through
    calls = []
    t = Transport(sleep=lambda s: None)
    real = t.session.request

    def flaky(method, url, **kw):
        calls.append(kw["headers"]["Idempotency-Key"])
        if len(calls) == 1:
            import requests
            raise requests.ConnectionError("reset")
        return real(method, url, **kw)
    t.session.request = flaky
    fake.answer(202, {"delivery_id": "dlv_1"})
    Infrai(api_key=KEY, base_url=fake.url, transport=t).webhook.retry("dlv_1")
    assert len(calls) == 2 and calls[0] == calls[1]


def test_missing_key_says_how_to_get_one(fake):
    client = Infrai(base_url=fake.url)
    with pytest.raises(errors.MissingApiKey) as e:
        client.cron.list()
    assert "infra.activate()" in str(e.value) and "INFRAI_API_KEY" in str(e.value)
    assert isinstance(e.value, errors.InfraiError) and fake.requests == []


def test_config_order_arguments_env_credentials_default(monkeypatch, clean_env):
    from infrai import _config
    _config.write_credentials({"api_key": "from_file", "base_url": "http://file:1"})
    c = Infrai()
    assert (c.api_key, c.base_url) == ("from_file", "http://file:1")
    monkeypatch.setenv("INFRAI_API_KEY", "from_env")
    monkeypatch.setenv("INFRAI_BASE_URL", "http://env:2/")
    c = Infrai()
    assert (c.api_key, c.base_url) == ("from_env", "http://env:2")
    c = Infrai(api_key="from_arg", base_url="http://arg:3")
    assert (c.api_key, c.base_url) == ("from_arg", "http://arg:3")
    monkeypatch.delenv("INFRAI_API_KEY")
    monkeypatch.delenv("INFRAI_BASE_URL")
    os.remove(_config.credentials_path())
    c = Infrai()
    assert (c.api_key, c.base_url) == (None, "http://127.0.0.1:8000")


def test_default_client_is_lazy(monkeypatch, fake):
    import infrai
    lazy = infrai._DefaultClient()
    assert lazy._client is None
    monkeypatch.setenv("INFRAI_API_KEY", KEY)
    monkeypatch.setenv("INFRAI_BASE_URL", fake.url)
    fake.answer(200, {"items": [], "next_cursor": None})
    assert lazy.cron.list() == {"items": [], "next_cursor": None}
    assert lazy.base_url == fake.url


ACTIVATION = {"project_id": "proj_1", "api_key": KEY, "key_id": "key_1", "plan": "trial", "limits": {}}


def test_activate_writes_credentials_0600_and_keeps_an_existing_key(fake, clean_env):
    fake.answer(201, ACTIVATION)
    client = Infrai(base_url=fake.url)
    result = client.activate()
    assert result["api_key"] == KEY and result["created"] is True
    path = clean_env / ".infrai" / "credentials"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert saved["api_key"] == KEY and saved["project_id"] == "proj_1" and saved["base_url"] == fake.url
    assert client.api_key == KEY                               # used at once
    assert fake.requests[0][:2] == ("POST", "/v1/auth/activate")
    assert "Authorization" not in fake.requests[0][2]

    again = Infrai(base_url=fake.url).activate()               # no second project
    assert again["created"] is False and again["api_key"] == KEY and len(fake.requests) == 1
    other = {**ACTIVATION, "project_id": "proj_2", "api_key": "ifr_pk_proj_" + "b" * 40}
    fake.answer(201, other)
    forced = Infrai(base_url=fake.url).activate(force=True)
    assert forced["project_id"] == "proj_2" and len(fake.requests) == 2
    assert json.loads(path.read_text())["project_id"] == "proj_2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_activate_with_a_umask_that_would_expose_the_file(fake, clean_env):
    old = os.umask(0)
    try:
        fake.answer(201, ACTIVATION)
        Infrai(base_url=fake.url).activate()
    finally:
        os.umask(old)
    assert stat.S_IMODE((clean_env / ".infrai" / "credentials").stat().st_mode) == 0o600


def test_an_api_gateway_error_body_still_raises_the_right_class(client, fake):
    fake.answer(401, {"message": "Unauthorized"})
    with pytest.raises(errors.Unauthorized) as e:
        client.auth.me()
    assert e.value.message == "Unauthorized"


def test_topics_by_the_apis_names(client, fake):
    c = client
    calls = [
        (lambda: c.topics.put("orders", description="Orders"), "PUT", "/v1/scheduling/topics/orders",
         {"description": "Orders"}),
        (lambda: c.topics.list(limit=5), "GET", "/v1/scheduling/topics?limit=5", None),
        (lambda: c.topics.delete("orders"), "DELETE", "/v1/scheduling/topics/orders", None),
        (lambda: c.topics.publish("orders", "order.paid", {"amount": 150}, idempotency_key="k1"), "POST",
         "/v1/scheduling/topics/orders/publish", {"event_type": "order.paid", "payload": {"amount": 150}}),
        (lambda: c.topics.subscribe("orders", "https://x.example.com", event_types=["order.paid"],
                                    filter={"amount": [{"numeric": [">", 100]}]}, retries=5), "POST",
         "/v1/scheduling/topics/orders/subscriptions",
         {"url": "https://x.example.com", "event_types": ["order.paid"],
          "filter": {"amount": [{"numeric": [">", 100]}]}, "retries": 5}),
        (lambda: c.topics.subscribe("orders", destination={"type": "sqs", "arn": "arn:aws:sqs:us-east-1:123456789012:q"}),
         "POST", "/v1/scheduling/topics/orders/subscriptions",
         {"destination": {"type": "sqs", "arn": "arn:aws:sqs:us-east-1:123456789012:q"}}),
        (lambda: c.topics.update_subscription("sub_1", destination={"type": "eventbridge",
                                                                    "arn": "arn:aws:events:us-east-1:123456789012:event-bus/b"}),
         "PATCH", "/v1/scheduling/subscriptions/sub_1",
         {"destination": {"type": "eventbridge", "arn": "arn:aws:events:us-east-1:123456789012:event-bus/b"}}),
        (lambda: c.topics.subscriptions("orders"), "GET", "/v1/scheduling/topics/orders/subscriptions", None),
        (lambda: c.topics.update_subscription("sub_1", event_types=None, paused=True), "PATCH",
         "/v1/scheduling/subscriptions/sub_1", {"event_types": None, "paused": True}),
        (lambda: c.topics.pause_subscription("sub_1"), "POST", "/v1/scheduling/subscriptions/sub_1/pause", None),
        (lambda: c.topics.resume_subscription("sub_1"), "POST", "/v1/scheduling/subscriptions/sub_1/resume", None),
        (lambda: c.topics.delete_subscription("sub_1"), "DELETE", "/v1/scheduling/subscriptions/sub_1", None),
        (lambda: c.topics.put_event_type("order.paid", schema={"type": "object"}), "PUT",
         "/v1/scheduling/event-types/order.paid", {"schema": {"type": "object"}}),
        (lambda: c.topics.event_types(), "GET", "/v1/scheduling/event-types", None),
        (lambda: c.deliveries.list(topic="orders", subscription_id="sub_1"), "GET",
         "/v1/scheduling/deliveries?topic=orders&subscription_id=sub_1", None),
    ]
    for call, method, path, body in calls:
        call()
        assert fake.requests[-1][:2] == (method, path), fake.requests[-1][:2]
        assert fake.requests[-1][3] == body
    publish = [r for r in fake.requests if r[1].endswith("/publish")][0]
    assert publish[2].get("Idempotency-Key") == "k1"
