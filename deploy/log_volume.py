"""What the deliver function's attempt telemetry writes to CloudWatch Logs, measured: a batch of 10
attempts through chalicelib/observability.py as the deliver function runs it (JSON lines, EMF,
an X-Ray trace id in the environment as Lambda sets it), bytes counted off stdout, priced at
CloudWatch Logs' standard ingestion ($0.50 per GB). docs/operations.md#what-the-logs-cost.

    python -m deploy.log_volume

Lambda's own lines (START/END/REPORT, or their JSON platform events) are not counted here: with
LoggingConfig.SystemLogLevel WARN (the packaged template's) Lambda drops them."""
import contextlib
import io
import os
import sys
from types import SimpleNamespace

INGEST_PER_GB = 0.50
BATCH = 10
TRACE = "Root=1-6752f1a0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0;Lineage=1:abcdef01:0"


def _record(i: int) -> dict:
    ulid = f"01JEK5Z8Q3W4X5Y6Z7A8B9C{i:03d}"   # the ids' real length (a ULID is 26 characters)
    return {"delivery_id": "dlv_" + ulid, "project_id": "proj_01JEK5Z8Q3W4X5Y6Z7A8B9C0DE", "kind": "webhook",
            "url": "https://hooks.example.com/incoming", "created_at": 0.0, "deliver_at": 0.0, "source": {}}


def batch_bytes(outcomes: list[str], sampled: bool = False) -> int:
    """Bytes printed for one invocation that recorded these attempts (flush included when the
    module has one)."""
    from chalicelib import observability
    os.environ["INFRAI_LOG_FORMAT"] = "json"
    os.environ["_X_AMZN_TRACE_ID"] = TRACE
    os.environ["INFRAI_LOG_SAMPLE_RATE"] = "1" if sampled else "0"
    flush = getattr(observability, "flush", lambda: None)
    flush()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, outcome in enumerate(outcomes):
            result = SimpleNamespace(status=503 if outcome != "succeeded" else 200, duration_ms=120 + i,
                                     error=None, excerpt="")
            observability.attempt_recorded(_record(i), 1, result, outcome,
                                           1.7e9 if outcome == "retrying" else None)
        flush()
    return len(out.getvalue().encode())


def main() -> int:
    rows = [("10 successes, not sampled", batch_bytes(["succeeded"] * BATCH)),
            ("10 successes, a sampled invocation", batch_bytes(["succeeded"] * BATCH, sampled=True)),
            ("9 successes + 1 retry, not sampled", batch_bytes(["succeeded"] * 9 + ["retrying"]))]
    print("| a batch of 10 attempts | bytes | per attempt | $ per million attempts (at $0.50/GB) |")
    print("|---|---|---|---|")
    for name, n in rows:
        per = n / BATCH
        print(f"| {name} | {n:,} | {per:,.0f} | {per * 1e6 / 1e9 * INGEST_PER_GB:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
