"""The webhook routes through chalice.test.Client against moto: what a client sees, and that
refused requests store nothing."""
import json
from unittest import mock

import pytest

from chalicelib.aws import clients, resources

from .conftest import dispatch_messages, drain

SEND = "/v1/scheduling/webhook/send"


def count_deliveries():
    from chalicelib import config
    items = clients.dynamodb().scan(TableName=config.table_name())["Items"]
    return len([i for i in items if i["pk"]["S"].startswith("DLV#")])


def test_health_needs_no_key(client):
    resp = client.http.get("/v1/health")
    assert resp.status_code == 200 and json.loads(resp.body) == {"status": "ok"}


def test_send_accepts_queues_and_can_be_read_back(api, project):
    resp = api.call("POST", SEND, {"url": "https://api.example.com/hooks/order",
                                   "payload": {"order_id": "ord_42", "status": "paid"}})
    assert resp.status_code == 202
    d = resp.data
    assert d["state"] == "queued" and d["delivery_id"].startswith("dlv_")
    assert d["retries"] == 3 and d["timeout_seconds"] == 30 and d["attempts"] == []
    assert d["created_at"].endswith("Z")
    # the work names its project: its fair-queue group (issue 22)
    assert dispatch_messages() == [{"d": d["delivery_id"], "n": 1, "at": pytest.approx(0, abs=10**10),
                                    "p": project["project_id"], "v": mock.ANY}]
    got = api.call("GET", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}")
    assert got.status_code == 200 and got.data["state"] == "queued"
    assert got.data["url"] == "https://api.example.com/hooks/order"


def test_list_is_newest_first_with_cursor_and_state_filter(api):
    ids = [api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {"i": i}}).data["delivery_id"]
           for i in range(5)]
    page1 = api.call("GET", "/v1/scheduling/webhook/deliveries?limit=2").data
    assert [i["delivery_id"] for i in page1["items"]] == ids[::-1][:2]
    page2 = api.call("GET", f"/v1/scheduling/webhook/deliveries?limit=2&cursor={page1['next_cursor']}").data
    page3 = api.call("GET", f"/v1/scheduling/webhook/deliveries?limit=2&cursor={page2['next_cursor']}").data
    seen = [i["delivery_id"] for p in (page1, page2, page3) for i in p["items"]]
    assert seen == ids[::-1] and page3["next_cursor"] is None
    queued = api.call("GET", "/v1/scheduling/webhook/deliveries?state=queued&limit=100").data
    assert len(queued["items"]) == 5
    assert api.call("GET", "/v1/scheduling/webhook/deliveries?state=failed").data["items"] == []


def test_secret_is_a_whsec(api):
    resp = api.call("GET", "/v1/scheduling/webhook/secret")
    assert resp.status_code == 200 and resp.data["secret"].startswith("whsec_")


def test_unknown_delivery_is_404_and_retry_of_queued_is_409(api):
    resp = api.call("GET", "/v1/scheduling/webhook/deliveries/dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert resp.status_code == 404 and resp.data["error"]["code"] == "not_found"
    d = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}}).data
    resp = api.call("POST", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}/retry")
    assert resp.status_code == 409 and resp.data["error"]["code"] == "conflict"


def test_missing_or_bad_key_is_401_with_the_json_error(client, project):
    for headers in ({}, {"Authorization": "Bearer nope"},
                    {"Authorization": "Bearer ifr_pk_proj_" + "a" * 40},
                    {"Authorization": "Basic " + project["api_key"]}):
        resp = client.http.get("/v1/scheduling/webhook/deliveries", headers=headers)
        assert resp.status_code == 401, headers
        err = json.loads(resp.body)["error"]
        assert err["code"] == "unauthorized" and "activate" in err["message"]


def test_another_projects_delivery_is_not_found(client, api):
    from chalicelib.services.tenancy import projects
    from .conftest import Api
    d = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}}).data
    other = Api(client, projects.create_project()["api_key"])
    assert other.call("GET", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}").status_code == 404
    assert other.call("GET", "/v1/scheduling/webhook/deliveries").data["items"] == []
    assert other.call("POST", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}/retry").status_code == 404


BAD = [
    (b"{not json", 400, None),
    (b"[1,2]", 400, None),
    (b"", 400, None),
    (json.dumps({"payload": {}}).encode(), 400, "url"),
    (json.dumps({"url": 5, "payload": {}}).encode(), 400, "url"),
    (json.dumps({"url": "ftp://x.example.com/", "payload": {}}).encode(), 400, "url"),
    (json.dumps({"url": "javascript:alert(1)", "payload": {}}).encode(), 400, "url"),
    (json.dumps({"url": "https://x.example.com/"}).encode(), 400, "payload"),
    (json.dumps({"url": "https://x.example.com/", "payload": [1]}).encode(), 400, "payload"),
    (json.dumps({"url": "https://x.example.com/", "payload": "s"}).encode(), 400, "payload"),
    (json.dumps({"url": "https://x.example.com/", "payload": {"a": "x" * (256 * 1024)}}).encode(), 413, None),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "retries": 21}).encode(), 400, "retries"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "retries": -1}).encode(), 400, "retries"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "retries": "3"}).encode(), 400, "retries"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "retries": 1.5}).encode(), 400, "retries"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "timeout_seconds": 0}).encode(), 400,
     "timeout_seconds"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "timeout_seconds": 301}).encode(), 400,
     "timeout_seconds"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "delay_seconds": -5}).encode(), 400,
     "delay_seconds"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "delay_seconds": 31536001}).encode(), 400,
     "delay_seconds"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "delay_seconds": True}).encode(), 400,
     "delay_seconds"),
    (json.dumps({"url": "https://x.example.com/", "payload": {},
                 "headers": {"webhook-signature": "v1,forged"}}).encode(), 400, "headers.webhook-signature"),
    (json.dumps({"url": "https://x.example.com/", "payload": {},
                 "headers": {"Content-Type": "text/plain"}}).encode(), 400, "headers.Content-Type"),
    (json.dumps({"url": "https://x.example.com/", "payload": {},
                 "headers": {"Host": "evil"}}).encode(), 400, "headers.Host"),
    (json.dumps({"url": "https://x.example.com/", "payload": {},
                 "headers": {f"x-h{i}": "v" for i in range(21)}}).encode(), 400, "headers"),
    (json.dumps({"url": "https://x.example.com/", "payload": {},
                 "headers": {"x-big": "v" * 5000}}).encode(), 400, "headers.x-big"),
    (json.dumps({"url": "https://x.example.com/", "payload": {},
                 "headers": {"x-crlf": "a\r\nInjected: 1"}}).encode(), 400, "headers.x-crlf"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "idempotency_key": "k" * 256}).encode(), 400,
     "idempotency_key"),
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "surprise": 1}).encode(), 400, "surprise"),
]


@pytest.mark.parametrize("raw,status,field", BAD)
def test_bad_input_is_refused_clearly_and_stores_nothing(api, raw, status, field):
    resp = api.call("POST", SEND, raw=raw)
    assert resp.status_code == status, resp.data
    err = resp.data["error"]
    assert err["code"] and len(err["message"]) > 15
    if field:
        assert err["field"] == field
    assert count_deliveries() == 0 and dispatch_messages() == []


def test_bad_list_parameters(api):
    for q in ("state=lost", "limit=0", "limit=101", "limit=x", "cursor=garbage"):
        resp = api.call("GET", f"/v1/scheduling/webhook/deliveries?{q}")
        assert resp.status_code == 400, q
        assert resp.data["error"]["field"] in ("state", "limit", "cursor")


def test_a_cursor_from_another_project_is_refused(client, api):
    from chalicelib.services.tenancy import projects
    from .conftest import Api
    for i in range(3):
        api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {"i": i}})
    cursor = api.call("GET", "/v1/scheduling/webhook/deliveries?limit=1").data["next_cursor"]
    other = Api(client, projects.create_project()["api_key"])
    resp = other.call("GET", f"/v1/scheduling/webhook/deliveries?cursor={cursor}")
    assert resp.status_code == 400 and resp.data["error"]["field"] == "cursor"


def test_a_keyed_request_that_was_refused_is_not_remembered(api):
    """A keyed retry refused (409: the delivery has not failed) keeps no answer: once the
    delivery has failed, the same key retries it (Powertools deletes the in-progress record of a
    request that raised)."""
    from chalicelib.aws import keys, store
    sent = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}}).data
    retry = f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}/retry"
    refused = api.call("POST", retry, headers={"Idempotency-Key": "retry-once"})
    assert refused.status_code == 409 and refused.data["error"]["code"] == "conflict"
    record = store.get(*keys.delivery(sent["delivery_id"]))
    store.update(record["pk"], record["sk"], {"state": "failed"})
    again = api.call("POST", retry, headers={"Idempotency-Key": "retry-once"})
    assert again.status_code in (200, 202) and again.data["state"] == "queued", again.data


def test_idempotent_send_returns_the_first_response_and_sends_once(api, receiver):
    body = {"url": receiver.url("/once"), "payload": {"a": 1}, "idempotency_key": "order-42"}
    first = api.call("POST", SEND, body)
    again = api.call("POST", SEND, body)
    assert first.status_code == again.status_code == 202
    assert again.data == first.data
    assert count_deliveries() == 1
    # the retry's own hand-off (sent before its put lost: delivery/keyed.py) is dropped on arrival
    drain()
    assert len(receiver.at("/once")) == 1
    via_header = api.call("POST", SEND, {"url": receiver.url("/once"), "payload": {"a": 1}},
                          headers={"Idempotency-Key": "order-42"})
    assert via_header.data["delivery_id"] == first.data["delivery_id"]
    other_body = api.call("POST", SEND, {**body, "payload": {"a": 2}})
    assert other_body.status_code == 422 and other_body.data["error"]["code"] == "idempotency_key_reused"


def test_a_send_sqs_refuses_is_refused_whole_and_its_retry_goes(api, monkeypatch):
    """Work is handed to SQS before its record is written (core/due.HANDOFF_GRACE), so a 202
    means stored *and* on its way: when SQS refuses, the request is refused (503, nothing
    stored), and the client's retry with the same key makes it once."""
    from chalicelib.aws import dispatch
    from .conftest import dispatch_messages, reconcile_after
    real = dispatch.enqueue_many

    def refuse(*a, **k):
        raise RuntimeError("SQS is down")
    monkeypatch.setattr(dispatch, "enqueue_many", refuse)
    body = {"url": "https://x.example.com/", "payload": {}, "idempotency_key": "k-sqs"}
    resp = api.call("POST", SEND, body)
    assert resp.status_code == 503 and resp.data["error"]["code"] == "unavailable"
    assert count_deliveries() == 0 and dispatch_messages() == []
    monkeypatch.setattr(dispatch, "enqueue_many", real)
    again = api.call("POST", SEND, body)
    assert again.status_code == 202 and count_deliveries() == 1
    assert [m["d"] for m in dispatch_messages()] == [again.data["delivery_id"]]
    assert reconcile_after(3600) == {}    # nothing owed: the message is the lease


def test_resources_come_from_one_definition():
    spec = resources.dispatch_queue("arn:aws:sqs:us-east-1:123456789012:dlq")
    assert int(spec["Attributes"]["VisibilityTimeout"]) >= 6 * resources.DELIVER_FUNCTION_TIMEOUT


EDGE_BAD = [
    # nested past the documented 64 levels, and far past what a JSON parser can recurse into
    (json.dumps({"url": "https://x.example.com/", "payload": {"a": json.loads("[" * 70 + "]" * 70)}}).encode(),
     400, "payload"),
    (b'{"url": "https://x.example.com/", "payload": {"a": ' + b"[" * 50000 + b"]" * 50000 + b"}}", 400, "payload"),
    # a header value no HTTP client can put on the wire unchanged
    (json.dumps({"url": "https://x.example.com/", "payload": {}, "headers": {"x-a": "€"}}).encode(), 400,
     "headers.x-a"),
]


@pytest.mark.parametrize("raw,status,field", EDGE_BAD)
def test_input_that_once_made_a_500_is_refused_clearly_and_stores_nothing(api, raw, status, field):
    resp = api.call("POST", SEND, raw=raw)
    assert resp.status_code == status, resp.data
    assert resp.data["error"]["field"] == field and len(resp.data["error"]["message"]) > 15
    assert count_deliveries() == 0 and dispatch_messages() == []


def test_a_payload_nested_64_levels_is_accepted():
    from chalicelib.core import validation
    body = {"url": "https://x.example.com/", "payload": json.loads('{"a": ' * 63 + "1" + "}" * 63)}
    assert validation.parse_json_body(json.dumps(body).encode()) == body


def test_odd_list_parameters_are_400_not_500(api):
    for i in range(3):
        api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {"i": i}})
    cursor = api.call("GET", "/v1/scheduling/webhook/deliveries?limit=1").data["next_cursor"]
    import base64
    plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for drop in list(plain):
        if drop.endswith("pk") and drop != "pk":
            continue       # the partition itself: already refused as "another project's"
        tampered = base64.urlsafe_b64encode(json.dumps({k: v for k, v in plain.items() if k != drop}).encode())
        resp = api.call("GET", f"/v1/scheduling/webhook/deliveries?cursor={tampered.decode().rstrip('=')}")
        assert resp.status_code == 400 and resp.data["error"]["field"] == "cursor", drop
    for q in ("limit=%C2%B2", "limit=%EF%BC%95", "limit=" + "9" * 5000):   # superscript 2, full-width 5
        resp = api.call("GET", f"/v1/scheduling/webhook/deliveries?{q}")
        assert resp.status_code == 400 and resp.data["error"]["field"] == "limit", q


def test_a_single_read_shows_the_payload_and_the_headers_every_attempt_carries(api):
    sent = api.call("POST", SEND, {"url": "https://api.example.com/hooks", "payload": {"order": [1, 2.5, None]},
                                   "headers": {"x-tenant": "acme"}}).data
    got = api.call("GET", f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}").data
    assert got["payload"] == {"order": [1, 2.5, None]}
    assert got["headers"] == {"x-tenant": "acme", "content-type": "application/json",
                              "user-agent": "infrai-scheduling/1.0", "webhook-id": sent["delivery_id"]}
    listed = api.call("GET", "/v1/scheduling/webhook/deliveries").data["items"]
    assert "payload" not in listed[0] and "headers" not in listed[0], "lists stay small"
