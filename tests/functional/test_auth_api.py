"""Projects and keys, activate, limits, secret rotation, and outbound safety on deployed stages."""
import json

import pytest

from chalicelib import config
from chalicelib.aws import clients
from chalicelib.services.tenancy import projects

from .conftest import Api


def table_text():
    return json.dumps(clients.dynamodb().scan(TableName=config.table_name())["Items"])


def test_activate_makes_a_trial_project_whose_key_works_and_is_stored_hashed(client):
    resp = client.http.post("/v1/auth/activate", headers={"Content-Type": "application/json"}, body=b"{}")
    assert resp.status_code == 201
    body = json.loads(resp.body)
    assert body["api_key"].startswith("ifr_pk_proj_") and body["project_id"].startswith("proj_")
    assert body["plan"] == "trial" and body["limits"]["deliveries_per_day"] > 0
    assert body["api_key"] not in table_text(), "keys are stored only as hashes"
    me = Api(client, body["api_key"]).call("GET", "/v1/auth/me")
    assert me.status_code == 200 and me.data["project_id"] == body["project_id"]
    assert me.data["keys"][0]["key"].endswith(body["api_key"][-4:]) and body["api_key"] not in me.data["keys"][0]["key"]


def test_activate_is_rate_limited_per_address(client, monkeypatch):
    monkeypatch.setenv("INFRAI_ACTIVATIONS_PER_HOUR", "3")
    json_ = {"Content-Type": "application/json"}
    codes = [client.http.post("/v1/auth/activate", headers=json_, body=b"").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    resp = client.http.post("/v1/auth/activate", headers=json_, body=b"")
    err = json.loads(resp.body)["error"]
    assert err["code"] == "quota_exceeded" and err["limit"] == "activations_per_hour" and err["resets_at"]


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Token ifr_pk_proj_" + "a" * 40, "ifr_pk_proj_" + "a" * 40,
    "Bearer ifr_pk_proj_" + "a" * 31, "Bearer ifr_pk_proj_" + "a" * 65, "Bearer ifr_sk_proj_" + "a" * 40,
    "Bearer ifr_pk_proj_" + "a" * 20 + " " + "a" * 20, "Bearer  ifr_pk_proj_" + "a" * 40,
    "Bearer ifr_pk_proj_" + "a" * 39 + "!", "Bearer ifr_pk_proj_" + "b" * 40,
])
def test_missing_malformed_or_unknown_keys_are_401_json(client, project, header):
    headers = {} if header is None else {"Authorization": header}
    for path in ("/v1/scheduling/cron", "/v1/auth/me", "/v1/scheduling/queue"):
        resp = client.http.get(path, headers=headers)
        assert resp.status_code == 401, (header, path)
        err = json.loads(resp.body)["error"]
        assert err["code"] == "unauthorized" and "activate" in err["message"]


def test_second_key_and_revocation(api, client, project):
    new = api.call("POST", "/v1/auth/keys")
    assert new.status_code == 201 and new.data["api_key"] != project["api_key"]
    second = Api(client, new.data["api_key"])
    assert second.call("GET", "/v1/auth/me").data["project_id"] == project["project_id"]
    revoked = second.call("DELETE", f"/v1/auth/keys/{project['key_id']}")
    assert revoked.status_code == 200 and revoked.data["revoked_at"]
    projects.forget_cached_keys()    # a revoked key works at most AUTH_CACHE_SECONDS per instance
    assert api.call("GET", "/v1/auth/me").status_code == 401
    last = second.call("DELETE", f"/v1/auth/keys/{new.data['key_id']}")
    assert last.status_code == 409, "the last active key cannot be revoked"
    assert second.call("DELETE", "/v1/auth/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404


def test_rotation_gives_a_new_secret_and_keeps_the_old_for_a_day(api, project):
    old = api.call("GET", "/v1/scheduling/webhook/secret").data["secret"]
    resp = api.call("POST", "/v1/scheduling/webhook/secret/rotate")
    assert resp.status_code == 200 and resp.data["secret"] != old
    assert projects.signing_secrets(project["project_id"]) == [resp.data["secret"], old]
    assert api.call("GET", "/v1/scheduling/webhook/secret").data["secret"] == resp.data["secret"]
    again = api.call("POST", "/v1/scheduling/webhook/secret/rotate")
    assert again.status_code == 409 and again.data["error"]["previous_secret_expires_at"]
    # kept sealed: the table holds neither secret in clear, so a reader of it cannot sign webhooks
    assert old not in table_text() and resp.data["secret"] not in table_text() and "whsec_" not in table_text()


def test_a_secret_stored_in_clear_before_sealing_still_signs_and_rotates(api, project):
    """Projects made before secrets were sealed keep theirs in clear until the next rotation."""
    from chalicelib.aws import keys, store
    pk, sk = keys.project(project["project_id"])
    legacy = "whsec_" + "A" * 43 + "="
    store.update(pk, sk, {"signing_secrets": [{"secret": legacy, "created_at": 1.0}]})
    assert api.call("GET", "/v1/scheduling/webhook/secret").data["secret"] == legacy
    rotated = api.call("POST", "/v1/scheduling/webhook/secret/rotate").data["secret"]
    assert projects.signing_secrets(project["project_id"]) == [rotated, legacy]
    assert rotated not in table_text()


def test_rotation_window_closes_after_24h(api, project, monkeypatch):
    from chalicelib.core import clock
    api.call("POST", "/v1/scheduling/webhook/secret/rotate")
    later = clock.now() + 24 * 3600 + 1
    monkeypatch.setattr(clock, "_now", lambda: later)
    assert len(projects.signing_secrets(project["project_id"])) == 1
    assert api.call("POST", "/v1/scheduling/webhook/secret/rotate").status_code == 200


def test_daily_delivery_quota_refuses_with_429_and_stores_nothing(api, monkeypatch):
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"deliveries_per_day": 2}}))
    send = {"url": "https://hooks.example.com/", "payload": {}}
    assert [api.call("POST", "/v1/scheduling/webhook/send", send).status_code for _ in range(2)] == [202, 202]
    resp = api.call("POST", "/v1/scheduling/webhook/send", send)
    assert resp.status_code == 429
    err = resp.data["error"]
    assert err["code"] == "quota_exceeded" and err["limit"] == "deliveries_per_day" and err["resets_at"].endswith("Z")
    assert api.call("POST", "/v1/scheduling/queue/publish", {"queue": "q", "payload": {}}).status_code == 429
    assert api.call("GET", "/v1/scheduling/queue").data["items"] == [], "a refused publish creates no queue"
    assert len(api.call("GET", "/v1/scheduling/webhook/deliveries").data["items"]) == 2


def test_publish_rate_and_payload_size_limits(api, monkeypatch):
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"payload_bytes": 100, "publishes_per_second": 1000}}))
    resp = api.call("POST", "/v1/scheduling/webhook/send", {"url": "https://hooks.example.com/", "payload": {"a": "x" * 200}})
    assert resp.status_code == 413 and resp.data["error"]["limit"] == "payload_bytes", "size is a 413, never retried"
    from chalicelib.core import clock
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"publishes_per_second": 2}}))
    frozen = clock.now()
    monkeypatch.setattr(clock, "_now", lambda: frozen)
    codes = [api.call("POST", "/v1/scheduling/queue/publish", {"queue": "q", "payload": {}}).status_code
             for _ in range(3)]
    assert codes == [202, 202, 429]


def test_cron_job_limit_counts_paused_jobs_too(api, monkeypatch):
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"cron_jobs": 1}}))
    job = {"name": "a", "schedule": "0 9 * * *", "url": "https://hooks.example.com/"}
    first = api.call("POST", "/v1/scheduling/cron", {**job, "enabled": False}).data
    resp = api.call("POST", "/v1/scheduling/cron", job)
    assert resp.status_code == 429 and resp.data["error"]["limit"] == "cron_jobs"
    paused = api.call("POST", "/v1/scheduling/cron", {**job, "enabled": False})
    assert paused.status_code == 429, "a paused job is a schedule too: it counts"
    assert api.call("POST", f"/v1/scheduling/cron/{first['cron_id']}/resume").status_code == 200
    assert api.call("DELETE", f"/v1/scheduling/cron/{first['cron_id']}").status_code == 200
    assert api.call("POST", "/v1/scheduling/cron", job).status_code == 201, "a deleted job gives its place back"
    assert len(api.call("GET", "/v1/scheduling/cron").data["items"]) == 1


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/", "http://192.168.1.1/", "http://100.64.0.1/", "http://[::1]/", "http://2130706433/",
    "http://0x7f000001/", "http://[::ffff:127.0.0.1]/", "http://0/",
])
def test_deployed_stages_refuse_private_targets_at_create_time(api, monkeypatch, url):
    monkeypatch.setenv("INFRAI_ALLOW_PRIVATE_TARGETS", "")
    for method, path, body in (
            ("POST", "/v1/scheduling/webhook/send", {"url": url, "payload": {}}),
            ("POST", "/v1/scheduling/cron", {"name": "x", "schedule": "0 9 * * *", "url": url}),
            ("PUT", "/v1/scheduling/queue/q", {"url": url})):
        resp = api.call(method, path, body)
        assert resp.status_code == 400, (url, path)
        assert resp.data["error"]["code"] == "unsafe_target" and resp.data["error"]["field"] == "url"
    assert "DLV#" not in table_text() and "CRON#" not in table_text() and "QUEUE#" not in table_text()


def test_send_time_check_refuses_a_name_that_now_resolves_privately(aws, project, monkeypatch):
    """DNS can change after create time: the sender checks the address again and never connects."""
    from chalicelib import sender
    from chalicelib.services.deliver import router
    from chalicelib.services.webhooks import webhooks
    monkeypatch.setenv("INFRAI_ALLOW_PRIVATE_TARGETS", "")
    monkeypatch.setattr(sender, "_default_resolver", lambda host, port: ["93.184.216.34"])
    d = webhooks.send(project["project_id"], {"url": "https://rebind.example.com/", "payload": {}, "retries": 0}, None)
    monkeypatch.setattr(sender, "_default_resolver", lambda host, port: ["169.254.169.254"])
    from .conftest import dispatch_messages
    [work] = dispatch_messages()
    router.process_batch([json.dumps(work)])
    record = webhooks.get(project["project_id"], d["delivery_id"])
    assert record["state"] == "failed" and "169.254.169.254" in record["attempts"][0]["error"]


def test_every_bodyless_post_is_idempotent_by_header(client, api):
    """A client retrying after a lost answer gets the first answer back, and no second effect."""
    h = {"Idempotency-Key": "retry-1-0123456789abcdef0123456789abcdef"}   # long: these return secrets
    first = client.http.post("/v1/auth/activate", headers=h, body=b"")
    again = client.http.post("/v1/auth/activate", headers=h, body=b"")
    assert first.status_code == again.status_code == 201 and json.loads(first.body) == json.loads(again.body)
    k1, k2 = api.call("POST", "/v1/auth/keys", headers=h), api.call("POST", "/v1/auth/keys", headers=h)
    assert k1.data == k2.data and len(api.call("GET", "/v1/auth/me").data["keys"]) == 2
    r1 = api.call("POST", "/v1/scheduling/webhook/secret/rotate", headers=h)
    r2 = api.call("POST", "/v1/scheduling/webhook/secret/rotate", headers=h)
    assert r1.status_code == r2.status_code == 200 and r1.data == r2.data
    job = api.call("POST", "/v1/scheduling/cron", {"name": "a", "schedule": "0 9 * * *",
                                                   "url": "https://hooks.example.com/"}).data
    p1 = api.call("POST", f"/v1/scheduling/cron/{job['cron_id']}/pause", headers=h)
    p2 = api.call("POST", f"/v1/scheduling/cron/{job['cron_id']}/pause", headers=h)
    assert p1.data == p2.data and p1.data["enabled"] is False
    msg = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "q", "payload": {}}).data
    c1 = api.call("POST", f"/v1/scheduling/queue/messages/{msg['message_id']}/cancel", headers={"Idempotency-Key": "c"})
    c2 = api.call("POST", f"/v1/scheduling/queue/messages/{msg['message_id']}/cancel", headers={"Idempotency-Key": "c"})
    assert c1.status_code == c2.status_code == 200 and c1.data == c2.data
    bad = api.call("POST", f"/v1/scheduling/cron/{job['cron_id']}/resume", headers={"Idempotency-Key": "k" * 256})
    assert bad.status_code == 400 and bad.data["error"]["field"] == "idempotency_key"


def test_scheduled_cron_runs_count_against_the_daily_limit_and_are_skipped_visibly(api, monkeypatch):
    from chalicelib.aws import store
    from chalicelib.services.cron import cron_runs
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"deliveries_per_day": 2}}))
    job = api.call("POST", "/v1/scheduling/cron", {"name": "every minute", "schedule": "* * * * *",
                                                   "url": "https://hooks.example.com/cron"}).data
    cid = job["cron_id"]
    fired = [cron_runs.fire(cid, f"2026-11-28T10:0{m}:00Z") for m in range(3)]
    assert [work is not None for _d, work in fired] == [True, True, False]
    assert cron_runs.fire(cid, "2026-11-28T10:02:00Z") == (None, None), "a duplicate of a skipped run stays skipped"
    runs = api.call("GET", f"/v1/scheduling/cron/{cid}/runs").data["items"]
    by_time = {r["scheduled_at"]: r for r in runs}
    skipped = by_time["2026-11-28T10:02:00.000Z"]
    assert skipped["delivery_state"] == "skipped" and skipped["skipped_reason"] == "quota_exceeded"
    assert by_time["2026-11-28T10:00:00.000Z"]["delivery_state"] == "queued"
    assert store.get("DLV#" + skipped["delivery_id"], "DLV") is None, "nothing was made to send"
    resp = api.call("POST", "/v1/scheduling/webhook/send", {"url": "https://hooks.example.com/", "payload": {}})
    assert resp.status_code == 429, "the scheduled runs used up the day"


def test_me_says_what_is_used_of_each_limit_today(api, monkeypatch):
    """The console's Project page shows these beside the limits."""
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"deliveries_per_day": 10}}))
    assert api.call("GET", "/v1/auth/me").data["usage"] == {
        "cron_jobs": 0, "queues": 0, "topics": 0, "api_keys": 1, "deliveries_per_day": 0, "attempts_per_day": 0}
    send = {"url": "https://hooks.example.com/", "payload": {}}
    for _ in range(3):
        assert api.call("POST", "/v1/scheduling/webhook/send", send).status_code == 202
    assert api.call("POST", "/v1/scheduling/queue/publish", {"queue": "q", "payload": {}}).status_code == 202
    api.call("POST", "/v1/scheduling/cron", {"name": "a", "schedule": "0 9 * * *", "url": "https://hooks.example.com/"})
    api.call("POST", "/v1/auth/keys")
    api.call("PUT", "/v1/scheduling/topics/t", {})
    assert api.call("GET", "/v1/auth/me").data["usage"] == {
        "cron_jobs": 1, "queues": 1, "topics": 1, "api_keys": 2, "deliveries_per_day": 4, "attempts_per_day": 0}
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": {"deliveries_per_day": None}}))
    assert api.call("GET", "/v1/auth/me").data["usage"]["deliveries_per_day"] is None, \
        "no daily limit: nothing counts deliveries, so no number is made up"
