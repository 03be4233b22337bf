"""One project never sees another's data: every route that names a resource answers 404 for
another project's resource (never 403: existence is not confirmed), and lists never show it."""
import pytest

from chalicelib.services.tenancy import projects

from .conftest import Api


@pytest.fixture
def two(client, project):
    a = Api(client, project["api_key"])
    b = Api(client, projects.create_project()["api_key"])
    d = a.call("POST", "/v1/scheduling/webhook/send", {"url": "https://hooks.example.com/", "payload": {}}).data
    job = a.call("POST", "/v1/scheduling/cron", {"name": "a", "schedule": "0 9 * * *",
                                                  "url": "https://hooks.example.com/"}).data
    msg = a.call("POST", "/v1/scheduling/queue/publish", {"queue": "shared-name", "payload": {}}).data
    me = a.call("GET", "/v1/auth/me").data
    return a, b, {"delivery": d["delivery_id"], "cron": job["cron_id"], "message": msg["message_id"],
                  "key": me["keys"][0]["key_id"]}


ROUTES = [
    ("GET", "/v1/scheduling/webhook/deliveries/{delivery}", None),
    ("POST", "/v1/scheduling/webhook/deliveries/{delivery}/retry", None),
    ("GET", "/v1/scheduling/cron/{cron}", None),
    ("PATCH", "/v1/scheduling/cron/{cron}", {"name": "stolen"}),
    ("DELETE", "/v1/scheduling/cron/{cron}", None),
    ("POST", "/v1/scheduling/cron/{cron}/pause", None),
    ("POST", "/v1/scheduling/cron/{cron}/resume", None),
    ("POST", "/v1/scheduling/cron/{cron}/trigger", None),
    ("GET", "/v1/scheduling/cron/{cron}/runs", None),
    ("GET", "/v1/scheduling/queue/shared-name", None),
    ("DELETE", "/v1/scheduling/queue/shared-name?force=true", None),
    ("GET", "/v1/scheduling/queue/shared-name/messages", None),
    ("GET", "/v1/scheduling/queue/messages/{message}", None),
    ("POST", "/v1/scheduling/queue/messages/{message}/cancel", None),
    ("POST", "/v1/scheduling/queue/messages/{message}/retry", None),
    ("DELETE", "/v1/auth/keys/{key}", None),
]


@pytest.mark.parametrize("method,template,body", ROUTES)
def test_another_projects_resource_is_not_found(two, method, template, body):
    a, b, ids = two
    resp = b.call(method, template.format(**ids), body)
    assert resp.status_code == 404, (method, template, resp.data)
    assert resp.data["error"]["code"] == "not_found"


def test_lists_show_only_your_own(two):
    a, b, ids = two
    for path in ("/v1/scheduling/webhook/deliveries", "/v1/scheduling/cron", "/v1/scheduling/queue"):
        assert b.call("GET", path).data["items"] == [], path
        assert a.call("GET", path).data["items"], path
    assert ids["key"] not in [k["key_id"] for k in b.call("GET", "/v1/auth/me").data["keys"]]


def test_the_same_queue_name_in_two_projects_is_two_queues(two):
    a, b, ids = two
    mine = b.call("POST", "/v1/scheduling/queue/publish", {"queue": "shared-name", "payload": {}}).data
    assert b.call("GET", "/v1/scheduling/queue/shared-name").data["counts"]["held"] == 1
    assert a.call("GET", "/v1/scheduling/queue/shared-name").data["counts"]["held"] == 1
    assert a.call("GET", f"/v1/scheduling/queue/messages/{mine['message_id']}").status_code == 404


def test_nothing_changed_for_the_owner(two):
    a, b, ids = two
    for method, template, body in ROUTES:
        b.call(method, template.format(**ids), body)
    job = a.call("GET", f"/v1/scheduling/cron/{ids['cron']}")
    assert job.status_code == 200 and job.data["name"] == "a" and job.data["enabled"] is True
    assert a.call("GET", f"/v1/scheduling/queue/messages/{ids['message']}").data["state"] == "held"
    assert a.call("GET", "/v1/auth/me").data["keys"][0]["revoked_at"] is None
