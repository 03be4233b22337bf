"""What operators see: one structured log line per delivery attempt (Powertools Logger) and
CloudWatch metrics in the embedded metric format (Powertools Metrics: JSON printed to stdout,
which CloudWatch Logs turns into metrics, so no PutMetricData call and no added latency).

Never logged: payloads, headers, signing secrets, API keys, response bodies. A log line says
which delivery, where it went (the host only: a URL's path and query may carry tokens), how it
went and what happens next.

On deployed stages the lines are JSON; on the local stack (INFRAI_LOG_FORMAT=text, the default
when INFRAI_STAGE is local) they are one readable line each and no EMF is printed. Powertools
is imported on first use (the API function never pays for it)."""
import functools
import logging
import os
import sys
from urllib.parse import urlsplit

from . import config
from .core import clock

SERVICE = "infrai-scheduling"
NAMESPACE = "InfraiScheduling"
TERMINAL = {"succeeded": "DeliveriesSucceeded", "failed": "DeliveriesFailed"}

_text_log = logging.getLogger("infrai.attempts")


def log_format() -> str:
    return os.environ.get("INFRAI_LOG_FORMAT") or ("text" if config.stage() == "local" else "json")


class _Stdout(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a line is written (Lambda's, or a test's capture)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _):
        pass


@functools.lru_cache(maxsize=1)
def _logger():
    from aws_lambda_powertools import Logger
    logger = Logger(service=SERVICE, logger_handler=_Stdout())
    logging.getLogger(SERVICE).propagate = False   # one line per event: not again through the runtime's root handler
    return logger


def _metrics(**dimensions):
    from aws_lambda_powertools.metrics import EphemeralMetrics
    m = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    for name, value in dimensions.items():
        m.add_dimension(name=name, value=value)
    return m


def _host(url: str | None) -> str | None:
    try:
        return urlsplit(url).hostname if url else None
    except ValueError:
        return None


def attempt_line(record: dict, n: int, result, outcome: str, next_at: float | None,
                 url: str | None = None) -> dict:
    """The fields of an attempt's log line (and nothing else: no payload, headers or secrets)."""
    source = record.get("source") or {}
    sent_at = clock.now() - result.duration_ms / 1000
    line = {"event": "attempt", "delivery_id": record["delivery_id"], "project_id": record["project_id"],
            "kind": record["kind"].split(":", 1)[0], "queue": source.get("queue"), "cron_id": source.get("cron_id"),
            "attempt": n, "host": _host(url or record.get("url")), "status_code": result.status,
            "duration_ms": result.duration_ms, "outcome": outcome, "error": result.error,
            "next_attempt_at": clock.rfc3339(next_at)}
    # lateness of a first attempt that was due at a set time: a cron run's scheduled time, or a delay's end
    due = source.get("scheduled_at")
    if due is None and record.get("deliver_at", 0) > record.get("created_at", 0) + 1:
        due = record["deliver_at"]
    if n == 1 and due is not None:
        line["lateness_ms"] = max(0, int((sent_at - due) * 1000))
    return {k: v for k, v in line.items() if v is not None}


def attempt_recorded(record: dict, n: int, result, outcome: str, next_at: float | None,
                     url: str | None = None) -> None:
    """Log and count one recorded attempt. Never raises: telemetry must not fail a delivery."""
    try:
        line = attempt_line(record, n, result, outcome, next_at, url)
        if log_format() == "text":
            _text_log.info("attempt %s #%s %s %s -> %s in %sms: %s%s", line["delivery_id"], n, line["kind"],
                           line.get("host", "-"), line.get("status_code", line.get("error", "no response")),
                           line["duration_ms"], outcome,
                           f", next at {line['next_attempt_at']}" if "next_attempt_at" in line else "")
            return
        _logger().info("attempt", extra=line)
        by_outcome = _metrics(outcome=outcome)
        by_outcome.add_metric(name="Attempts", unit="Count", value=1)
        by_outcome.flush_metrics()
        overall = _metrics()
        overall.add_metric(name="AttemptLatency", unit="Milliseconds", value=result.duration_ms)
        if outcome in TERMINAL:
            overall.add_metric(name=TERMINAL[outcome], unit="Count", value=1)
        if "lateness_ms" in line:
            overall.add_metric(name="Lateness", unit="Milliseconds", value=line["lateness_ms"])
        overall.flush_metrics()
    except Exception:  # noqa: BLE001 - see docstring
        logging.getLogger(__name__).exception("attempt telemetry failed")


def repaired(kind: str, count: int) -> None:
    """The reconciler carried `count` stranded items of `kind` ("delivery", "queue_release") on."""
    if not count:
        return
    try:
        if log_format() == "text":
            _text_log.info("reconciler repaired %s stranded %s", count, kind)
            return
        _logger().info("repaired", extra={"event": "repaired", "kind": kind, "count": count})
        m = _metrics(kind=kind)
        m.add_metric(name="StrandedRepaired", unit="Count", value=count)
        m.flush_metrics()
    except Exception:  # noqa: BLE001 - telemetry must not fail the repair
        logging.getLogger(__name__).exception("repair telemetry failed")


def repair_failed(errors: int, quarantined: int) -> None:
    """Repairs that raised in a run (their markers moved on), and of them the quarantined ones."""
    if not errors and not quarantined:
        return
    try:
        if log_format() == "text":
            _text_log.warning("reconciler: %s repairs raised, %s quarantined", errors + quarantined, quarantined)
            return
        _logger().warning("repair_failed", extra={"event": "repair_failed", "errors": errors,
                                                  "quarantined": quarantined})
        m = _metrics()
        m.add_metric(name="RepairErrors", unit="Count", value=errors + quarantined)
        m.add_metric(name="RepairsQuarantined", unit="Count", value=quarantined)
        m.flush_metrics()
    except Exception:  # noqa: BLE001 - telemetry must not fail the run
        logging.getLogger(__name__).exception("repair telemetry failed")


def event(name: str, **fields) -> None:
    """Any other operational event (a replay job's progress), as one line."""
    try:
        if log_format() == "text":
            _text_log.info("%s %s", name, " ".join(f"{k}={v}" for k, v in fields.items()))
        else:
            _logger().info(name, extra={"event": name, **fields})
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).exception("telemetry failed")
