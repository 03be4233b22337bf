"""The project's settings (issue 23, item 3): `PATCH /v1/auth/project` with `retention_days`, shown
by `GET /v1/auth/me`, stamped on every delivery made after it (`keep`) and turned into the TTL of
the write that ends it."""

from chalicelib.aws import keys, store
from chalicelib.core import clock
from chalicelib.services.tenancy import retention

from .conftest import drain

PROJECT = "/v1/auth/project"
SEND = "/v1/scheduling/webhook/send"


def record(delivery_id):
    return store.get(*keys.delivery(delivery_id))


def test_me_shows_the_defaults_until_a_patch_changes_them(api):
    assert api.call("GET", "/v1/auth/me").data["retention_days"] == {"succeeded": 30, "failed": 90}
    both = api.call("PATCH", PROJECT, {"retention_days": {"succeeded": 7, "failed": 45}})
    assert both.status_code == 200 and both.data == {"retention_days": {"succeeded": 7, "failed": 45},
                                                     "signatures": ["v1"]}
    one = api.call("PATCH", PROJECT, {"retention_days": {"failed": 400}})      # either outcome alone
    assert one.status_code == 200 and one.data["retention_days"] == {"succeeded": 7, "failed": 400}
    assert api.call("PATCH", PROJECT, {"retention_days": {"succeeded": 1}}).data["retention_days"] == \
        {"succeeded": 1, "failed": 400}
    assert api.call("GET", "/v1/auth/me").data["retention_days"] == {"succeeded": 1, "failed": 400}


BAD_SETTINGS = [
    (b"[1, 2]", None, "must be a JSON object"),
    (b"\"retention_days\"", None, "must be a JSON object"),
    (b"{}", None, "at least one setting"),
    (b'{"colour": "blue"}', "colour", "Unknown field 'colour'"),
    (b'{"retention_days": {"succeeded": 30}, "signing": ["v1"]}', "signing", "Unknown field 'signing'"),
    (b'{"retention_days": 30}', "retention_days", "must be an object"),
    (b'{"retention_days": {}}', "retention_days", "must be an object"),
    (b'{"retention_days": null}', "retention_days", "must be an object"),
    (b'{"retention_days": {"kept": 3}}', "retention_days.kept", "Unknown field 'retention_days.kept'"),
    (b'{"retention_days": {"succeeded": 0}}', "retention_days.succeeded", "from 1 to 400"),
    (b'{"retention_days": {"failed": 401}}', "retention_days.failed", "from 1 to 400"),
    (b'{"retention_days": {"failed": -5}}', "retention_days.failed", "from 1 to 400"),
    (b'{"retention_days": {"succeeded": "30"}}', "retention_days.succeeded", "whole number"),
    (b'{"retention_days": {"succeeded": 1.5}}', "retention_days.succeeded", "whole number"),
    (b'{"retention_days": {"succeeded": true}}', "retention_days.succeeded", "whole number"),
    (b'{"retention_days": {"succeeded": 10, "failed": 0}}', "retention_days.failed", "from 1 to 400"),
]


def test_bad_settings_are_400_naming_the_field_and_change_nothing(api):
    """Every case against one project (one set-up, not one per case)."""
    for raw, field, words in BAD_SETTINGS:
        resp = api.call("PATCH", PROJECT, raw=raw)
        assert resp.status_code == 400, (raw, resp.data)
        assert resp.data["error"]["field"] == field and words in resp.data["error"]["message"], (raw, resp.data)
        assert api.call("GET", "/v1/auth/me").data["retention_days"] == retention.DEFAULTS, raw


def test_an_integral_float_is_a_whole_number(api):
    assert api.call("PATCH", PROJECT, {"retention_days": {"succeeded": 14.0}}).data["retention_days"]["succeeded"] == 14


def test_the_patch_needs_the_projects_key(client):
    resp = client.http.patch(PROJECT, headers={"Content-Type": "application/json"},
                             body=b'{"retention_days": {"succeeded": 7}}')
    assert resp.status_code == 401


def test_a_delivery_made_after_a_patch_carries_the_new_retention_and_expires_by_it(api, receiver):
    before = api.call("POST", SEND, {"url": receiver.url("/a"), "payload": {"n": 1}}).data["delivery_id"]
    api.call("PATCH", PROJECT, {"retention_days": {"succeeded": 7, "failed": 45}})
    after = api.call("POST", SEND, {"url": receiver.url("/b"), "payload": {"n": 2}}).data["delivery_id"]
    assert record(before)["keep"] == [30, 90], "a delivery keeps the setting it was made with"
    assert record(after)["keep"] == [7, 45]
    drain()
    done = {d: record(d) for d in (before, after)}
    assert all(r["state"] == "succeeded" for r in done.values())
    now = clock.now()
    assert abs(done[after]["ttl"] - (now + 7 * 86400)) < 120
    assert abs(done[before]["ttl"] - (now + 30 * 86400)) < 120


def test_another_instance_sees_a_change_within_its_cache_time(api, project, monkeypatch):
    """The setting is cached per process (no read on the delivery path); the PATCH clears this
    instance's copy at once, others' expire within retention.CACHE_SECONDS."""
    pid = project["project_id"]
    assert retention.stamp(pid) == [30, 90]            # cached now
    store.update(*keys.project(pid), {"retention_days": {"succeeded": 3, "failed": 4}})   # another instance's PATCH
    assert retention.stamp(pid) == [30, 90]
    monkeypatch.setattr(retention, "CACHE_SECONDS", 0)
    retention.forget(pid)
    assert retention.stamp(pid) == [3, 4]
