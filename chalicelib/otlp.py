"""OpenTelemetry spans of the deliver function, exported over OTLP/HTTP (JSON) when configured.

Off by default and free when off: with no INFRAI_OTLP_ENDPOINT (config.otlp_endpoint) nothing is
built, kept or sent. When on, each recorded attempt becomes a CLIENT span (the span id its
traceparent carried, core/traces.attempt_span, a child of the delivery's parent span), and a
delivery that started its own trace gets its root span when it ends. Spans are kept in memory
and posted in ONE request per invocation by `flush()`, which the deliver function calls at the
end of each batch (observability.flush). An export never raises and never waits long (1 s to
connect, 2 s to answer): a collector that is down loses spans, never deliveries.

Why our own ~100 lines and not the OpenTelemetry SDK: the SDK and its OTLP exporter add several
MB and tens of ms of cold start to the Lambda bundle for what is here a list of dicts and one
POST; the wire format (OTLP/JSON, hex ids) is stable. On AWS the ADOT collector layer listens on
localhost:4318 and forwards to X-Ray or any backend: set INFRAI_OTLP_ENDPOINT=http://localhost:4318.

Only sampled traces are exported (the traceparent's sampled flag, as the publisher decided;
traces started here are sampled). Attributes name the delivery and the host only: never a
payload, a header, a URL path (it may carry tokens) or a secret."""
import json
import logging
import threading
from urllib.parse import urlsplit

import urllib3

from . import config
from .core import clock, traces

SERVICE = "infrai-scheduling"
SCOPE = "infrai.deliver"
KIND_INTERNAL, KIND_CLIENT = 1, 3
STATUS_OK, STATUS_ERROR = 1, 2
MAX_PENDING = 1000   # a process that never flushes (a long-running caller) posts at this many
CONNECT_TIMEOUT, READ_TIMEOUT = 1.0, 2.0

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pending: list[dict] = []
_http: dict = {}


def enabled() -> bool:
    return config.otlp_endpoint() is not None


def _attr(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _nanos(t: float) -> str:
    return str(int(t * 1_000_000_000))


def _host(url: str | None) -> str | None:
    try:
        return urlsplit(url).hostname if url else None
    except ValueError:
        return None


def _span(trace_id, span_id, parent_id, name, kind, start, end, attrs, error=None) -> dict:
    span = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": kind,
            "startTimeUnixNano": _nanos(start), "endTimeUnixNano": _nanos(end),
            "attributes": [_attr(k, v) for k, v in attrs.items() if v is not None],
            "status": {"code": STATUS_ERROR, "message": error} if error else {"code": STATUS_OK}}
    if parent_id:
        span["parentSpanId"] = parent_id
    return span


def attempt_spans(record: dict, n: int, result, outcome: str, url: str | None = None) -> list[dict]:
    """The spans one recorded attempt adds: its own, and the root of a trace started here when
    this attempt ended the delivery."""
    trace = traces.of(record)
    if not trace.flags & traces.SAMPLED:
        return []
    now = clock.now()
    error = result.error or (f"HTTP {result.status}" if not result.ok and result.status else None)
    host = _host(url or record.get("url") or record.get("target_url"))
    spans = [_span(trace.trace_id, traces.attempt_span(record["delivery_id"], n), trace.parent_id,
                   "POST", KIND_CLIENT, now - result.duration_ms / 1000, now,
                   {"http.request.method": "POST", "server.address": host,
                    "http.response.status_code": result.status, "infrai.delivery_id": record["delivery_id"],
                    "infrai.kind": record["kind"].split(":", 1)[0], "infrai.attempt": n,
                    "infrai.outcome": outcome}, error)]
    if trace.derived and outcome in ("succeeded", "failed"):
        spans.append(_span(trace.trace_id, trace.parent_id, None, f"infrai {record['kind'].split(':', 1)[0]}",
                           KIND_INTERNAL, record["created_at"], now,
                           {"infrai.delivery_id": record["delivery_id"], "infrai.state": outcome,
                            "infrai.attempts": n}, None if outcome == "succeeded" else "failed"))
    return spans


def attempt(record: dict, n: int, result, outcome: str, url: str | None = None) -> None:
    """Keep the spans of one recorded attempt for this invocation's export. Never raises."""
    if not enabled():
        return
    try:
        spans = attempt_spans(record, n, result, outcome, url)
        with _lock:
            _pending.extend(spans)
            full = len(_pending) >= MAX_PENDING
        if full:
            flush()
    except Exception:  # noqa: BLE001 - telemetry must not fail a delivery
        log.warning("could not make an attempt's span", exc_info=True)


def _pool() -> urllib3.PoolManager:
    pool = _http.get("pool")
    if pool is None:
        pool = _http["pool"] = urllib3.PoolManager(
            num_pools=2, retries=False, timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT))
    return pool


def flush() -> None:
    """Post what this invocation kept, in one request. Never raises; what fails is dropped."""
    with _lock:
        spans = list(_pending)
        _pending.clear()
    endpoint = config.otlp_endpoint()
    if not spans or not endpoint:
        return
    body = {"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", SERVICE), _attr("deployment.environment", config.stage())]},
        "scopeSpans": [{"scope": {"name": SCOPE}, "spans": spans}]}]}
    try:
        resp = _pool().request("POST", endpoint, body=json.dumps(body).encode(),
                               headers={**config.otlp_headers(), "content-type": "application/json"})
        if resp.status >= 300:
            log.warning("OTLP export of %d spans answered %s", len(spans), resp.status)
    except Exception as e:  # noqa: BLE001 - a collector that is down loses spans, never deliveries
        log.warning("OTLP export of %d spans failed: %s", len(spans), type(e).__name__)
