"""Attempt telemetry at its price (chalicelib/observability.py): success lines only when sampled,
retries and failures always, one EMF document per invocation, and never a payload or a header."""
import json
from types import SimpleNamespace

import pytest

from chalicelib import observability

SECRETS = ("SECRET-IN-PAYLOAD", "SECRET-IN-HEADER", "SECRET-IN-QUERY", "whsec_SECRET")


@pytest.fixture(autouse=True)
def json_logs(monkeypatch):
    monkeypatch.setenv("INFRAI_LOG_FORMAT", "json")
    monkeypatch.setenv(observability.SAMPLE_RATE_ENV, "0")
    observability.flush()   # nothing left over from another test, and sampling decided anew
    yield
    observability.flush()


def record(i: int = 0, **extra) -> dict:
    """A delivery as the deliver function holds it, with everything that must never be logged."""
    return {"delivery_id": f"dlv_{i:04d}", "project_id": "proj_1", "kind": "webhook",
            "url": "https://hooks.example.com/path/SECRET-IN-QUERY?token=SECRET-IN-QUERY",
            "payload": {"card": "SECRET-IN-PAYLOAD"}, "headers": {"x-api-token": "SECRET-IN-HEADER"},
            "secret": "whsec_SECRET", "created_at": 1_000.0, "deliver_at": 1_000.0, "source": {}, **extra}


def result(status=200, ms=40, error=None, excerpt="SECRET-IN-PAYLOAD echoed back"):
    return SimpleNamespace(status=status, duration_ms=ms, error=error, excerpt=excerpt)


def printed(capsys) -> list[dict]:
    return [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]


def emf(docs) -> list[dict]:
    return [d for d in docs if "_aws" in d]


def total(doc: dict, name: str) -> float:
    """A metric's sum in an EMF document (a value, or a list of them)."""
    v = doc[name]
    return sum(v) if isinstance(v, list) else v


def test_a_batch_of_ten_successes_prints_one_emf_document_after_flush(capsys):
    for i in range(10):
        observability.attempt_recorded(record(i), 1, result(ms=10 + i), "succeeded", None)
    assert emf(printed(capsys)) == [], "nothing is printed before the invocation ends"
    observability.flush()
    docs = printed(capsys)
    [doc] = emf(docs)
    assert docs == [doc], "no log line either: successes are not sampled at rate 0"
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == observability.NAMESPACE
    assert directive["Dimensions"] == [["service"]] and doc["service"] == observability.SERVICE
    assert {m["Name"] for m in directive["Metrics"]} == {
        "Attempts", "AttemptsSucceeded", "DeliveriesSucceeded", "AttemptLatency"}
    assert doc["Attempts"] == doc["AttemptsSucceeded"] == doc["DeliveriesSucceeded"] == [10.0], \
        "one value per count, not ten ones"
    assert sorted(doc["AttemptLatency"]) == [float(10 + i) for i in range(10)]
    observability.flush()
    assert printed(capsys) == [], "an invocation without attempts prints nothing"


def test_a_mixed_batch_counts_each_outcome_under_its_own_name(capsys):
    observability.attempt_recorded(record(1), 1, result(), "succeeded", None)
    observability.attempt_recorded(record(2), 1, result(503), "retrying", 2_000.0)
    observability.attempt_recorded(record(3), 5, result(500), "failed", None)
    observability.attempt_recorded(record(4, source={"scheduled_at": 990.0}), 1, result(), "succeeded", None)
    observability.flush()
    [doc] = emf(printed(capsys))
    assert [total(doc, m) for m in ("Attempts", "AttemptsSucceeded", "AttemptsRetrying", "AttemptsFailed",
                                    "DeliveriesSucceeded", "DeliveriesFailed")] == [4, 2, 1, 1, 2, 1]
    assert len(doc["AttemptLatency"]) == 4 and len(doc["Lateness"]) == 1, "lateness: the cron run only"
    assert "outcome" not in doc, "no per-outcome dimension: one document holds several outcomes"


def test_a_success_is_not_logged_at_info_unless_sampled(capsys, monkeypatch):
    observability.attempt_recorded(record(), 1, result(), "succeeded", None)
    assert [d for d in printed(capsys) if d.get("message") == "attempt"] == []
    monkeypatch.setenv(observability.SAMPLE_RATE_ENV, "1")
    observability.flush()                     # the next invocation is sampled anew
    capsys.readouterr()
    observability.attempt_recorded(record(), 1, result(), "succeeded", None)
    [line] = [d for d in printed(capsys) if d.get("message") == "attempt"]
    assert line["level"] == "INFO" and line["sampled"] is True and line["outcome"] == "succeeded"


def test_the_sampling_decision_holds_for_a_whole_invocation(capsys, monkeypatch):
    monkeypatch.setenv(observability.SAMPLE_RATE_ENV, "0.5")
    seen = set()
    for _ in range(40):
        for i in range(3):
            observability.attempt_recorded(record(i), 1, result(), "succeeded", None)
        lines = [d for d in printed(capsys) if d.get("message") == "attempt"]
        seen.add(len(lines))
        observability.flush()
        capsys.readouterr()
    assert seen == {0, 3}, "an invocation logs all its success lines or none"


def test_retries_and_failures_are_always_logged(capsys):
    observability.attempt_recorded(record(1), 1, result(503), "retrying", 2_000.0)
    observability.attempt_recorded(record(2), 5, result(None, error="timeout"), "failed", None)
    lines = {d["delivery_id"]: d for d in printed(capsys) if d.get("message") == "attempt"}
    assert lines["dlv_0001"]["level"] == "INFO" and lines["dlv_0001"]["outcome"] == "retrying"
    assert lines["dlv_0001"]["next_attempt_at"].endswith("Z")
    assert lines["dlv_0002"]["level"] == "WARNING" and lines["dlv_0002"]["error"] == "timeout"
    assert lines["dlv_0002"]["host"] == "hooks.example.com"


def test_no_payload_header_secret_or_url_path_is_ever_printed(capsys, monkeypatch):
    monkeypatch.setenv(observability.SAMPLE_RATE_ENV, "1")
    observability.flush()
    for outcome in ("succeeded", "retrying", "failed"):
        observability.attempt_recorded(record(), 1, result(500), outcome, 2_000.0)
    observability.flush()
    out = capsys.readouterr().out
    assert out.count('"message":"attempt"') == 3
    for secret in SECRETS:
        assert secret not in out


def test_the_sample_rate_setting(monkeypatch):
    for value, rate in (("0.25", 0.25), ("2", 1.0), ("-1", 0.0), ("lots", observability.DEFAULT_SAMPLE_RATE)):
        monkeypatch.setenv(observability.SAMPLE_RATE_ENV, value)
        assert observability.sample_rate() == rate
    monkeypatch.delenv(observability.SAMPLE_RATE_ENV)
    assert observability.sample_rate() == observability.DEFAULT_SAMPLE_RATE == 0.01


def test_a_process_that_never_flushes_still_prints_bounded_documents(capsys):
    for i in range(observability.MAX_PENDING):
        observability.attempt_recorded(record(i), 1, result(), "succeeded", None)
    [doc] = emf(printed(capsys))
    assert total(doc, "Attempts") == observability.MAX_PENDING and len(doc["AttemptLatency"]) < 100


def test_the_local_stack_keeps_its_readable_line_for_every_attempt(caplog, capsys, monkeypatch):
    monkeypatch.setenv("INFRAI_LOG_FORMAT", "text")
    with caplog.at_level("INFO", logger="infrai.attempts"):
        observability.attempt_recorded(record(7), 1, result(), "succeeded", None)
        observability.flush()
    assert [r.getMessage() for r in caplog.records] == [
        "attempt dlv_0007 #1 webhook hooks.example.com -> 200 in 40ms: succeeded"]
    assert emf(printed(capsys)) == []
