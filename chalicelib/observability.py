"""What operators see, at the price of what they read: a log line for every attempt that needs an
operator's eye (a retry, a failure) and a sample of the rest (Powertools Logger), and CloudWatch
metrics in the embedded metric format (Powertools Metrics: JSON printed to stdout, which CloudWatch
Logs turns into metrics, so no PutMetricData call and no added latency).

Per attempt: `retrying` is logged at INFO, `failed` at WARNING; `succeeded` at DEBUG, except in a
sampled invocation (INFRAI_LOG_SAMPLE_RATE, default 1 %), whose success lines are logged at INFO
with `"sampled": true` (Lambda's log-level filter, LoggingConfig.ApplicationLogLevel INFO, drops
DEBUG lines before CloudWatch: a sampled DEBUG line would never arrive). Metrics are counted in
memory and printed as ONE EMF document per invocation by `flush()`, which the deliver function
calls at the end of each batch (it also decides whether the next invocation is sampled). EMF
takes one value per dimension in a document, so outcomes are metric names (AttemptsSucceeded,
AttemptsRetrying, AttemptsFailed), not an `outcome` dimension.

Never logged: payloads, headers, signing secrets, API keys, response bodies. A log line says
which delivery, where it went (the host only: a URL's path and query may carry tokens), how it
went and what happens next.

On deployed stages the lines are JSON; on the local stack (INFRAI_LOG_FORMAT=text, the default
when INFRAI_STAGE is local) they are one readable line each, every attempt at INFO, and no EMF is
printed. Powertools is imported on first use (the API function never pays for it)."""
import logging
import os
import random
import sys
import threading
from collections import Counter
from urllib.parse import urlsplit

from . import config, otlp
from .core import clock

SERVICE = "infrai-scheduling"
NAMESPACE = "InfraiScheduling"
TERMINAL = {"succeeded": "DeliveriesSucceeded", "failed": "DeliveriesFailed"}
# One metric per outcome (an EMF document carries one value per dimension, and a batch mixes them)
BY_OUTCOME = {"succeeded": "AttemptsSucceeded", "retrying": "AttemptsRetrying", "failed": "AttemptsFailed"}
SAMPLE_RATE_ENV = "INFRAI_LOG_SAMPLE_RATE"
DEFAULT_SAMPLE_RATE = 0.01
# EMF takes at most 100 values per metric in a document: a process that never flushes (a test, a
# long-running caller) prints a document at this many attempts instead of growing without bound.
MAX_PENDING = 90

_text_log = logging.getLogger("infrai.attempts")


def log_format() -> str:
    return os.environ.get("INFRAI_LOG_FORMAT") or ("text" if config.stage() == "local" else "json")


def sample_rate() -> float:
    """INFRAI_LOG_SAMPLE_RATE, the share of invocations whose success lines are logged (0 to 1)."""
    try:
        return min(1.0, max(0.0, float(os.environ.get(SAMPLE_RATE_ENV, DEFAULT_SAMPLE_RATE))))
    except ValueError:
        return DEFAULT_SAMPLE_RATE


class _Stdout(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a line is written (Lambda's, or a test's capture)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _):
        pass


_made: dict = {}
_made_lock = threading.Lock()


def _logger():
    """The one Powertools Logger, made once even when the deliver function's threads all ask at
    once: a second Logger of the same service finds the first's handler and registers no
    formatter of its own, so removing a key from it raised, and every attempt's line was lost."""
    logger = _made.get("logger")
    if logger is None:
        with _made_lock:
            logger = _made.get("logger")
            if logger is None:
                from aws_lambda_powertools import Logger
                logger = Logger(service=SERVICE, logger_handler=_Stdout())
                if logger.registered_formatter is not None:
                    logger.remove_keys(["location"])   # the event name says where; ~40 bytes a line saved
                logging.getLogger(SERVICE).propagate = False   # one line per event: not again through the root handler
                _made["logger"] = logger
    return logger


def _metrics(**dimensions):
    from aws_lambda_powertools.metrics import EphemeralMetrics
    m = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    for name, value in dimensions.items():
        m.add_dimension(name=name, value=value)
    return m


class _Pending:
    """This invocation's metrics, counted until flush() (attempts run on a pool of threads)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.values: dict[str, list] = {"AttemptLatency": [], "Lateness": []}
        self.sampled: bool | None = None   # decided on first use in an invocation

    def take(self) -> tuple[Counter, dict]:
        with self.lock:
            counts, values = self.counts, self.values
            self.counts, self.values = Counter(), {"AttemptLatency": [], "Lateness": []}
            return counts, values


_pending = _Pending()


def _sampled() -> bool:
    with _pending.lock:
        if _pending.sampled is None:
            _pending.sampled = random.random() < sample_rate()
        return _pending.sampled


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
    """Log and count one recorded attempt (and keep its span, when spans are exported: otlp.py).
    Never raises: telemetry must not fail a delivery."""
    otlp.attempt(record, n, result, outcome, url)
    try:
        line = attempt_line(record, n, result, outcome, next_at, url)
        if log_format() == "text":
            _text_log.info("attempt %s #%s %s %s -> %s in %sms: %s%s", line["delivery_id"], n, line["kind"],
                           line.get("host", "-"), line.get("status_code", line.get("error", "no response")),
                           line["duration_ms"], outcome,
                           f", next at {line['next_attempt_at']}" if "next_attempt_at" in line else "")
            return
        if outcome == "failed":
            _logger().warning("attempt", extra=line)
        elif outcome != "succeeded":
            _logger().info("attempt", extra=line)
        elif _sampled():
            _logger().info("attempt", extra={**line, "sampled": True})
        else:
            _logger().debug("attempt", extra=line)
        with _pending.lock:
            c = _pending.counts
            c["Attempts"] += 1
            c[BY_OUTCOME.get(outcome, "Attempts" + outcome.capitalize())] += 1
            if outcome in TERMINAL:
                c[TERMINAL[outcome]] += 1
            _pending.values["AttemptLatency"].append(result.duration_ms)
            if "lateness_ms" in line:
                _pending.values["Lateness"].append(line["lateness_ms"])
            full = c["Attempts"] >= MAX_PENDING
        if full:
            _print_metrics()
    except Exception:  # noqa: BLE001 - see docstring
        logging.getLogger(__name__).exception("attempt telemetry failed")


def _print_metrics() -> None:
    counts, values = _pending.take()
    if not counts:
        return
    doc = _metrics()
    for name, value in counts.items():
        doc.add_metric(name=name, unit="Count", value=value)
    for name, vals in values.items():
        for v in vals:
            doc.add_metric(name=name, unit="Milliseconds", value=v)
    doc.flush_metrics()


def flush() -> None:
    """The end of an invocation: print its metrics as one EMF document (nothing when it recorded
    no attempt), export its spans (otlp.py, when configured), and let the next invocation be
    sampled anew. Never raises."""
    otlp.flush()
    try:
        _print_metrics()
    except Exception:  # noqa: BLE001 - telemetry must not fail the batch
        logging.getLogger(__name__).exception("metrics flush failed")
    finally:
        with _pending.lock:
            _pending.sampled = None


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
