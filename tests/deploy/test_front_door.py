"""The API function behind an HTTP API (payload format 1.0, routes `ANY /{proxy+}` and `ANY /`):
the real Chalice app, through app.http_api_handler, answers as it does behind the REST API.
Events are shaped as API Gateway documents payload 1.0 for a `/{proxy+}` route."""
import base64
import json

import pytest
from tests.mocked_aws import mocked_aws

from chalicelib.api import http_api
from chalicelib.api.errors import NO_ROUTE_MESSAGE


def v1_event(method: str, path: str, body=None, headers=None, query=None, stage="$default") -> dict:
    """An HTTP API payload-1.0 event for a request that matched `ANY /{proxy+}`."""
    headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "content-type": "application/json",
               **(headers or {})}
    raw = json.dumps(body) if body is not None else None
    full = path if stage == "$default" else f"/{stage}{path}"
    return {
        "version": "1.0", "resource": "/{proxy+}", "path": full, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query, "multiValueQueryStringParameters":
            {k: [v] for k, v in query.items()} if query else None,
        "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": headers["host"],
                           "domainPrefix": "abc123", "extendedRequestId": "Xyz=", "httpMethod": method,
                           "identity": {"sourceIp": "192.0.2.1", "userAgent": "pytest"}, "path": full,
                           "protocol": "HTTP/1.1", "requestId": "Xyz=", "requestTime": "07/Dec/2026:10:00:00 +0000",
                           "requestTimeEpoch": 1796637600000, "resourceId": "ANY /{proxy+}",
                           "resourcePath": "/{proxy+}", "stage": stage},
        "pathParameters": {"proxy": path.lstrip("/")}, "stageVariables": None,
        "body": raw, "isBase64Encoded": False,
    }


class Context:
    function_name = "infrai-scheduling-prod"
    aws_request_id = "req-1"
    memory_limit_in_mb = 256

    @staticmethod
    def get_remaining_time_in_millis():
        return 29_000


@pytest.fixture
def app():
    from app import app
    return app


@pytest.fixture
def handler():
    from app import http_api_handler
    return http_api_handler


def call(handler, *args, **kwargs) -> tuple[int, dict, object]:
    resp = handler(v1_event(*args, **kwargs), Context())
    body = resp["body"]
    if resp.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    try:
        body = json.loads(body)
    except ValueError:
        pass
    return resp["statusCode"], resp.get("headers") or {}, body


def test_chalice_alone_cannot_route_a_proxy_event(app):
    """Why the adapter exists: Chalice looks the view up by resourcePath, here `/{proxy+}`, and
    answers 405 for every path (its route table is a defaultdict: the lookup adds an empty entry)."""
    try:
        resp = app(v1_event("GET", "/v1/health"), Context())
    finally:
        app.routes.pop("/{proxy+}", None)   # the empty entry the lookup added
    assert resp["statusCode"] == 405 and "Unsupported method: GET" in resp["body"]


def test_a_route_is_found_by_its_path(handler):
    assert call(handler, "GET", "/v1/health")[0::2] == (200, {"status": "ok"})
    assert call(handler, "GET", "/v1/health/")[0::2] == (200, {"status": "ok"}), "a trailing slash, as on REST"


def test_path_parameters_reach_the_view(handler):
    status, headers, body = call(handler, "GET", "/console/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    status, _, body = call(handler, "GET", "/console/nope.txt")
    assert status == 404 and "nope.txt" in body["error"]["message"], "the view saw {name}=nope.txt"


def test_an_unknown_path_is_our_404_and_an_unknown_method_our_405(handler):
    for path in ("/", "/v1/nothing", "/v1/scheduling/cron/a/b/c/d", "/v1//health"):
        status, headers, body = call(handler, "GET", path)
        assert status == 404 and headers["Content-Type"] == "application/json", path
        assert body == {"error": {"code": "not_found", "message": NO_ROUTE_MESSAGE, "field": None}}
    status, _, body = call(handler, "DELETE", "/v1/health")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"


def test_a_route_without_a_key_is_refused_in_our_format(handler):
    status, _, body = call(handler, "GET", "/v1/scheduling/cron/cron_01ABC")
    assert status == 401 and set(body) == {"error"}


def test_a_literal_segment_wins_over_a_parameter():
    routes = http_api.Routes(["/v1/scheduling/queue/{name}/messages", "/v1/scheduling/queue/messages/{message_id}",
                              "/v1/scheduling/queue/{name}", "/v1/scheduling/queue/publish"])
    assert routes.match("/v1/scheduling/queue/messages/messages") == \
        ("/v1/scheduling/queue/messages/{message_id}", {"message_id": "messages"})
    assert routes.match("/v1/scheduling/queue/publish") == ("/v1/scheduling/queue/publish", {})
    assert routes.match("/v1/scheduling/queue/jobs") == ("/v1/scheduling/queue/{name}", {"name": "jobs"})
    assert routes.match("/v1/scheduling/queue/jobs/messages") == \
        ("/v1/scheduling/queue/{name}/messages", {"name": "jobs"})


def test_a_named_stage_prefix_is_not_part_of_the_route(handler):
    assert call(handler, "GET", "/v1/health", stage="live")[0::2] == (200, {"status": "ok"})


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(monkeypatch):
        yield


def test_a_whole_conversation_through_the_http_api(aws, handler):
    """A trial project, a cron job made, read by its id (a path parameter), with a query
    string, then a 404 for an id that is not there: the same answers as behind the REST API."""
    status, _, body = call(handler, "POST", "/v1/auth/activate", {})
    assert status in (200, 201), body
    auth = {"authorization": f"Bearer {body['api_key']}"}
    status, _, job = call(handler, "POST", "/v1/scheduling/cron", {
        "schedule": "*/5 * * * *", "url": "https://hooks.example.com/tick", "name": "tick"}, headers=auth)
    assert status in (200, 201), job
    status, _, got = call(handler, "GET", f"/v1/scheduling/cron/{job['cron_id']}", headers=auth)
    assert status == 200 and got["cron_id"] == job["cron_id"]
    status, _, listed = call(handler, "GET", "/v1/scheduling/cron", headers=auth, query={"limit": "1"})
    assert status == 200 and [c["cron_id"] for c in listed["items"]] == [job["cron_id"]]
    status, _, missing = call(handler, "GET", "/v1/scheduling/cron/cron_nope", headers=auth)
    assert status == 404 and missing["error"]["code"] == "not_found"


def test_a_body_not_declared_json_is_415_here_too_and_any_host_is_answered(handler):
    """Issue 24: the 415 is the app's, so it holds behind API Gateway as on the local stack; the
    Host check is the local stack's alone (here the host is API Gateway's or a custom domain)."""
    status, _, body = call(handler, "POST", "/v1/auth/activate", body={}, headers={"content-type": "text/plain"})
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    for host in ("abc123.execute-api.us-east-1.amazonaws.com", "api.example.com"):
        assert call(handler, "GET", "/v1/health", headers={"host": host})[0::2] == (200, {"status": "ok"})
