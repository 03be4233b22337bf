"""Sizing the deliver function (docs/deployment.md#sizing-the-deliver-function): the handler's own
time per batch, measured as `BENCH=webhooks` measures it (bench/webhooks.py: a batch of 10 against
a receiver answering after 200 ms), and what a target rate then needs at a few receiver latencies.

    sends in flight = rate x receiver latency
    batch time      = receiver latency + handler time   (a batch's ten sends run at once: its
                                                          time is its slowest attempt's)
    invocations     = rate x batch time / batch size     (concurrent executions of deliver)
    deliveries/s    = concurrency x batch size / batch time

BENCH_SIZING_RATE (default 10000) is the target deliveries per second; BENCH_SIZING_HANDLER_MS
skips the measurement and uses that handler time instead (e.g. the figure in docs/benchmarks.md).
"""
import math
import os

from .common import report  # noqa: I001 - first: puts the project on sys.path

from chalicelib import config
from deploy import resources as deploy_resources

RECEIVER_S = 0.2                   # bench/webhooks.py's slow receiver
LATENCIES_S = (0.1, 1.0, 5.0)
BATCH = deploy_resources.DELIVER_BATCH_SIZE
ESM_MAX = config.DELIVER_CONCURRENCY_MAX       # ScalingConfig.MaximumConcurrency: 2 to 1,000
DEFAULT = config.DELIVER_CONCURRENCY_DEFAULT
ACCOUNT_DEFAULT = 1000             # Lambda concurrent executions per Region, default quota (adjustable)
SCALE_PER_MINUTE = 300             # an SQS event source adds up to 300 concurrent invokes a minute
SCALE_START = 5                    # ... from five batches at a time


def needs(rate: float, latency_s: float, handler_s: float, batch: int = BATCH) -> dict:
    """What `rate` deliveries/s to receivers answering in `latency_s` need, with `handler_s` of the
    handler's own time per batch."""
    batch_s = latency_s + handler_s
    invocations = math.ceil(rate * batch_s / batch - 1e-9)
    return {
        "latency_s": latency_s, "in_flight": rate * latency_s, "batch_s": batch_s,
        "invocations": invocations,
        "rate_at_default": DEFAULT * batch / batch_s,
        "rate_at_esm_max": ESM_MAX * batch / batch_s,
        "queues_at_esm_max": math.ceil(invocations / ESM_MAX),
        "ramp_minutes": (min(invocations, ESM_MAX) - SCALE_START) / SCALE_PER_MINUTE,
        "over_account_default": invocations > ACCOUNT_DEFAULT,
    }


def table(rate: float, handler_s: float) -> list[str]:
    """The sizing table, as Markdown (docs/deployment.md shows the same)."""
    lines = [f"| receiver answers in | sends in flight | in flight / {BATCH} | batch time | invocations needed "
             f"| deliveries/s at {DEFAULT} / at {ESM_MAX:,} | ESMs at {ESM_MAX:,} | minutes to scale up |",
             "|---|---|---|---|---|---|---|---|"]
    for n in (needs(rate, lat, handler_s) for lat in LATENCIES_S):
        over = " (over the default quota)" if n["over_account_default"] else ""
        lines.append(f"| {n['latency_s'] * 1000:,.0f} ms | {n['in_flight']:,.0f} | {n['in_flight'] / BATCH:,.0f} "
                     f"| {n['batch_s'] * 1000:,.0f} ms | {n['invocations']:,}{over} "
                     f"| {n['rate_at_default']:,.0f} / {n['rate_at_esm_max']:,.0f} "
                     f"| {n['queues_at_esm_max']} | {n['ramp_minutes']:.1f} |")
    return lines


def measure_handler_s() -> tuple[float, float]:
    """(handler time of a batch of 10, the batch's whole time), against the local stack (moto)."""
    from .common import start_stack
    from .webhooks import batch_ratio
    stack, receiver = start_stack()
    try:
        _one, ten = batch_ratio(stack, receiver)
    finally:
        stack.stop()
        receiver.stop()
    return ten - RECEIVER_S, ten


def main():
    rate = float(os.environ.get("BENCH_SIZING_RATE", "10000"))
    given = os.environ.get("BENCH_SIZING_HANDLER_MS")
    if given:
        handler_s, source = float(given) / 1000, "BENCH_SIZING_HANDLER_MS"
    else:
        handler_s, ten = measure_handler_s()
        source = f"measured: batch of 10 in {ten * 1000:.0f} ms against a {RECEIVER_S * 1000:.0f} ms receiver"
    report(f"sizing the deliver function for {rate:,.0f} deliveries/s (batches of {BATCH})", [
        ("handler time per batch of 10, beyond the receiver's", f"{handler_s * 1000:.0f} ms"),
        ("  from", source),
        ("Lambda concurrency: default account quota / per-ESM cap", f"{ACCOUNT_DEFAULT:,} / {ESM_MAX:,}"),
    ])
    print()
    print("\n".join(table(rate, handler_s)))

if __name__ == "__main__":
    main()
