"""otlp.py without AWS: where spans go, what one attempt's span holds, and that an export never raises."""
from chalicelib import config, otlp, sender
from chalicelib.core import traces

RECORD = {"delivery_id": "dlv_A", "kind": "queue:orders", "url": None, "target_url": "https://h.example.com/p?token=x",
          "created_at": 1_800_000_000.0}
FAILED = sender.AttemptResult(status=503, duration_ms=20, error=None, excerpt="", retry_after=None)


def test_the_endpoint_is_off_unless_set_and_gets_its_path(monkeypatch):
    monkeypatch.delenv("INFRAI_OTLP_ENDPOINT", raising=False)
    assert config.otlp_endpoint() is None and not otlp.enabled()
    monkeypatch.setenv("INFRAI_OTLP_ENDPOINT", "http://localhost:4318/")
    assert config.otlp_endpoint() == "http://localhost:4318/v1/traces"
    monkeypatch.setenv("INFRAI_OTLP_ENDPOINT", "https://otlp.example.com/v1/traces")
    assert config.otlp_endpoint() == "https://otlp.example.com/v1/traces"
    monkeypatch.setenv("INFRAI_OTLP_HEADERS", "x-key=a=b, x-team = t ,junk")
    assert config.otlp_headers() == {"x-key": "a=b", "x-team": "t"}


def test_when_off_nothing_is_kept(monkeypatch):
    monkeypatch.delenv("INFRAI_OTLP_ENDPOINT", raising=False)
    otlp.attempt(RECORD, 1, FAILED, "retrying")
    assert otlp._pending == []


def test_an_attempt_span_names_the_host_only_and_its_place_in_the_trace():
    [span] = otlp.attempt_spans(RECORD, 2, FAILED, "retrying")
    trace = traces.of(RECORD)
    assert span["traceId"] == trace.trace_id and span["parentSpanId"] == trace.parent_id
    assert span["spanId"] == traces.attempt_span("dlv_A", 2) and span["kind"] == otlp.KIND_CLIENT
    assert span["status"] == {"code": otlp.STATUS_ERROR, "message": "HTTP 503"}
    attrs = {a["key"]: a["value"] for a in span["attributes"]}
    assert attrs["server.address"] == {"stringValue": "h.example.com"} and "token" not in str(span)
    assert attrs["infrai.kind"] == {"stringValue": "queue"} and attrs["infrai.attempt"] == {"intValue": "2"}
    assert int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"]) == 20_000_000


def test_an_unsampled_trace_makes_no_span_and_an_ended_own_trace_its_root():
    unsampled = {**RECORD, "tp": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}
    assert otlp.attempt_spans(unsampled, 1, FAILED, "failed") == []
    spans = otlp.attempt_spans(RECORD, 3, FAILED, "failed")
    assert len(spans) == 2 and "parentSpanId" not in spans[1] and spans[1]["spanId"] == spans[0]["parentSpanId"]


def test_an_export_to_a_bad_endpoint_never_raises(monkeypatch):
    monkeypatch.setenv("INFRAI_OTLP_ENDPOINT", "http://[not a host")
    otlp.attempt(RECORD, 1, FAILED, "retrying")
    otlp.flush()   # logged, dropped
    assert otlp._pending == []
