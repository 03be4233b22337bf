"""W3C trace context (issue 24 item 5), end to end: what a publisher sends in `traceparent` reaches
a real receiver on 127.0.0.1 on every attempt, with a new span per attempt, and its callbacks and
events; what comes without one (or with a malformed one) starts a trace of its own; the delivery
shows its trace id and each attempt's span id. Spans are exported to a collector on 127.0.0.1
only when INFRAI_OTLP_ENDPOINT says so."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib.aws import keys, store
from chalicelib.core import clock
from chalicelib.services.deliver import router

from .conftest import drain

SEND = "/v1/scheduling/webhook/send"
PUBLISH = "/v1/scheduling/queue/publish"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
INCOMING = {"traceparent": f"00-{TRACE}-{PARENT}-01", "tracestate": "rojo=00f067aa0ba902b7"}


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")   # retries due at once


def sent_trace(arrival):
    """The receiver's view: the W3C trace the attempt came with (parsed independently of ours)."""
    version, trace_id, span_id, flags = arrival.headers["traceparent"].split("-")
    assert version == "00" and len(trace_id) == 32 and len(span_id) == 16 and flags in ("00", "01")
    return trace_id, span_id


def assert_retried_in_one_trace(arrivals, trace_id, shown):
    """Two attempts (500 then 200) in `trace_id`, each with its own span, both shown by the API."""
    assert len(arrivals) == 2 and all(a.verified for a in arrivals)
    (t1, s1), (t2, s2) = map(sent_trace, arrivals)
    assert t1 == t2 == trace_id and s1 != s2 and PARENT not in (s1, s2)
    assert shown["trace_id"] == trace_id
    assert [a["span_id"] for a in shown["attempts"]] == [s1, s2]
    assert [a["status_code"] for a in shown["attempts"]] == [500, 200]


def test_a_queue_publish_reaches_the_receiver_in_the_publishers_trace_with_a_new_span_per_attempt(
        api, receiver, fast):
    receiver.script("/q", [500, 200])
    api.call("PUT", "/v1/scheduling/queue/orders", {"url": receiver.url("/q")})
    m = api.call("POST", PUBLISH, {"queue": "orders", "payload": {"o": 1}}, headers=INCOMING)
    assert m.status_code == 202
    drain()
    shown = api.call("GET", f"/v1/scheduling/queue/messages/{m.data['message_id']}").data
    assert_retried_in_one_trace(receiver.at("/q"), TRACE, shown)
    assert {a.headers["tracestate"] for a in receiver.at("/q")} == {INCOMING["tracestate"]}
    record = store.get(*keys.delivery(m.data["message_id"]))
    assert record["tp"] == f"{INCOMING['traceparent']} {INCOMING['tracestate']}"   # one short attribute


def test_a_webhook_send_reaches_the_receiver_in_the_publishers_trace_with_a_new_span_per_attempt(
        api, receiver, fast):
    receiver.script("/h", [500, 200])
    d = api.call("POST", SEND, {"url": receiver.url("/h"), "payload": {}},
                 headers={"TraceParent": INCOMING["traceparent"]})   # header names in any case
    assert d.status_code == 202 and d.data["trace_id"] == TRACE
    drain()
    shown = api.call("GET", f"/v1/scheduling/webhook/deliveries/{d.data['delivery_id']}").data
    assert_retried_in_one_trace(receiver.at("/h"), TRACE, shown)
    assert "tracestate" not in receiver.at("/h")[0].headers


def test_a_send_without_a_traceparent_starts_its_own_trace_and_stores_nothing_for_it(api, receiver, fast):
    receiver.script("/h", [500, 200])
    d = api.call("POST", SEND, {"url": receiver.url("/h"), "payload": {}}).data
    e = api.call("POST", SEND, {"url": receiver.url("/other"), "payload": {}}).data
    drain()
    shown = api.call("GET", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}").data
    assert_retried_in_one_trace(receiver.at("/h"), d["trace_id"], shown)
    assert sent_trace(receiver.at("/other")[0])[0] == e["trace_id"] != d["trace_id"]
    assert "tp" not in store.get(*keys.delivery(d["delivery_id"]))


def test_a_malformed_traceparent_is_ignored_and_a_fresh_trace_started_never_refused(api, receiver):
    bad = ["garbage", f"00-{TRACE.upper()}-{PARENT}-01", f"00-{'0' * 32}-{PARENT}-01",
           f"ff-{TRACE}-{PARENT}-01", "00-" + "a" * 2000]
    for i, value in enumerate(bad):
        d = api.call("POST", SEND, {"url": receiver.url(f"/h{i}"), "payload": {}},
                     headers={"traceparent": value, "tracestate": "rojo=1"})
        assert d.status_code == 202, (value, d.data)
        m = api.call("POST", PUBLISH, {"queue": "q", "payload": {}}, headers={"traceparent": value})
        assert m.status_code == 202, (value, m.data)
        assert "tp" not in store.get(*keys.delivery(d.data["delivery_id"]))
        drain()
        [arrival] = receiver.at(f"/h{i}")
        assert sent_trace(arrival)[0] == d.data["trace_id"] and TRACE not in arrival.headers["traceparent"]
        assert "tracestate" not in arrival.headers   # tracestate goes only with a valid traceparent


def test_a_batch_publish_puts_every_message_in_the_request_trace(api, receiver):
    api.call("PUT", "/v1/scheduling/queue/orders", {"url": receiver.url("/q")})
    out = api.call("POST", "/v1/scheduling/queue/publish-batch",
                   {"messages": [{"queue": "orders", "payload": {"i": i}} for i in range(3)]}, headers=INCOMING)
    assert out.data["accepted"] == 3
    deadline = time.time() + 10
    while len(receiver.at("/q")) < 3 and time.time() < deadline:   # a batch's work waits a moment in SQS
        drain()
        time.sleep(0.2)
    got = [sent_trace(a) for a in receiver.at("/q")]
    assert len(got) == 3 and {t for t, _ in got} == {TRACE} and len({s for _, s in got}) == 3


def test_trace_headers_are_not_taken_as_custom_headers(api):
    resp = api.call("POST", SEND, {"url": "https://example.com/h", "payload": {},
                                   "headers": {"Traceparent": INCOMING["traceparent"]}})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "headers.Traceparent"


def test_cron_runs_start_a_new_trace_each_and_a_trigger_joins_the_callers(api, receiver):
    job = api.call("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *",
                                                   "url": receiver.url("/cron")}).data
    for at in ("2026-11-28T09:00:00Z", "2026-11-29T09:00:00Z"):   # two scheduled firings
        router.process_batch([json.dumps({"cron": job["cron_id"], "at": at})])
    drain()
    scheduled = [sent_trace(a)[0] for a in receiver.at("/cron")]
    assert len(scheduled) == 2 and scheduled[0] != scheduled[1]
    trigger = f"/v1/scheduling/cron/{job['cron_id']}/trigger"
    plain = api.call("POST", trigger).data
    joined = api.call("POST", trigger, headers=INCOMING).data
    drain()
    by_run = {a.headers["webhook-id"]: sent_trace(a)[0] for a in receiver.at("/cron")}
    assert by_run[joined["delivery_id"]] == TRACE
    assert by_run[plain["delivery_id"]] not in (TRACE, *scheduled)
    shown = api.call("GET", f"/v1/scheduling/webhook/deliveries/{plain['delivery_id']}").data
    assert shown["trace_id"] == by_run[plain["delivery_id"]]


def test_callbacks_and_events_follow_the_delivery_trace_under_its_last_attempt(api, receiver, fast):
    receiver.script("/down", [500])
    api.call("PUT", "/v1/scheduling/events", {"url": receiver.url("/events")})
    d = api.call("POST", SEND, {"url": receiver.url("/down"), "payload": {}, "retries": 1,
                                "failure_callback_url": receiver.url("/cb")}, headers=INCOMING).data
    drain()
    last_span = sent_trace(receiver.at("/down")[-1])[1]
    shown = api.call("GET", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}").data
    assert shown["attempts"][-1]["span_id"] == last_span
    [cb] = receiver.at("/cb")
    [ev] = receiver.at("/events")
    for notice in (cb, ev):
        trace_id, span_id = sent_trace(notice)
        assert trace_id == TRACE and span_id != last_span
        assert notice.json["data"]["trace_id"] == TRACE
        assert notice.json["data"]["last_attempt"]["span_id"] == last_span
        notice_id = notice.headers["webhook-id"]
        assert store.get(*keys.delivery(notice_id))["tp"].split("-")[2] == last_span   # parent: the last attempt


# -- OpenTelemetry export ---------------------------------------------------------------------

class Collector:
    """An OTLP/HTTP collector on 127.0.0.1: records each POST to /v1/traces."""

    def __init__(self):
        self.posts = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                collector.posts.append((self.path, dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self):
        return [s for _, _, body in self.posts for rs in body["resourceSpans"]
                for ss in rs["scopeSpans"] for s in ss["spans"]]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.stop()


def test_spans_are_exported_to_the_configured_collector_once_per_batch(api, receiver, fast, collector, monkeypatch):
    monkeypatch.setenv("INFRAI_OTLP_ENDPOINT", collector.url)
    monkeypatch.setenv("INFRAI_OTLP_HEADERS", "x-api-key=k1")
    receiver.script("/h", [500, 200])
    joined = api.call("POST", SEND, {"url": receiver.url("/h"), "payload": {}}, headers=INCOMING).data
    own = api.call("POST", SEND, {"url": receiver.url("/own"), "payload": {}}).data
    rounds = drain()
    assert 1 <= len(collector.posts) <= rounds
    path, headers, _ = collector.posts[0]
    assert path == "/v1/traces" and headers["x-api-key"] == "k1"
    spans = collector.spans()
    mine = [s for s in spans if s["traceId"] == TRACE]
    assert [s["spanId"] for s in mine] == [sent_trace(a)[1] for a in receiver.at("/h")]
    assert {s["parentSpanId"] for s in mine} == {PARENT} and {s["kind"] for s in mine} == {3}
    assert [s["status"]["code"] for s in mine] == [2, 1]
    attrs = {a["key"]: a["value"] for a in mine[0]["attributes"]}
    assert attrs["infrai.delivery_id"] == {"stringValue": joined["delivery_id"]}
    assert attrs["http.response.status_code"] == {"intValue": "500"}
    assert attrs["server.address"] == {"stringValue": "127.0.0.1"}
    own_spans = [s for s in spans if s["traceId"] == own["trace_id"]]   # a trace started here: with its root
    root = [s for s in own_spans if "parentSpanId" not in s]
    assert len(own_spans) == 2 and len(root) == 1
    assert [s["parentSpanId"] for s in own_spans if s is not root[0]] == [root[0]["spanId"]]
    assert not any("payload" in json.dumps(s) for s in spans)


def test_nothing_is_exported_when_no_endpoint_is_configured(api, receiver, collector, monkeypatch):
    monkeypatch.delenv("INFRAI_OTLP_ENDPOINT", raising=False)
    api.call("POST", SEND, {"url": receiver.url("/h"), "payload": {}}, headers=INCOMING)
    drain()
    assert len(receiver.at("/h")) == 1 and collector.posts == []


def test_a_collector_that_is_down_never_fails_a_delivery(api, receiver, collector, monkeypatch):
    url = collector.url
    collector.stop()   # the port now refuses connections
    monkeypatch.setenv("INFRAI_OTLP_ENDPOINT", url)
    d = api.call("POST", SEND, {"url": receiver.url("/h"), "payload": {}}).data
    started = clock.now()
    drain()
    assert clock.now() - started < 5
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}").data["state"] == "succeeded"


def test_an_unsampled_trace_is_carried_but_not_exported(api, receiver, collector, monkeypatch):
    monkeypatch.setenv("INFRAI_OTLP_ENDPOINT", collector.url)
    api.call("POST", SEND, {"url": receiver.url("/h"), "payload": {}},
             headers={"traceparent": f"00-{TRACE}-{PARENT}-00"})
    drain()
    assert receiver.at("/h")[0].headers["traceparent"].endswith("-00")
    assert collector.posts == []
