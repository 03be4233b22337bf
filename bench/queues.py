"""Issue 4 benchmarks: publish-to-arrival latency, delay lateness (short delays in real time,
long ones on a simulated clock through the real handler), and the cost per million messages
of single versus batch publishing, from counted AWS requests."""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from .awscount import Counter, cost_per_million
from .common import http, percentile, report, start_stack, wait_until

N = 300
BATCHES = 5


def setup_queue(stack, s, name, url):
    s.put(stack.base_url + f"/v1/scheduling/queue/{name}", json={"url": url}, timeout=30)


def latency(stack, s, receiver):
    path = "/bench-latency"
    setup_queue(stack, s, "lat", receiver.url(path))
    sent = {}

    def publish(i):
        sent[i] = time.time()
        s.post(stack.base_url + "/v1/scheduling/queue/publish", json={"queue": "lat", "payload": {"i": i}}, timeout=30)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(publish, range(N)))
    wait_until(lambda: len(receiver.at(path)) >= N, 120)
    return [a.at - sent[a.json["i"]] for a in receiver.at(path)]


def short_delays(stack, s, receiver):
    path = "/bench-delays"
    setup_queue(stack, s, "delays", receiver.url(path))
    due = {}
    for i, d in enumerate([1, 2, 3, 5, 8, 13] * 3):
        due[i] = time.time() + d
        s.post(stack.base_url + "/v1/scheduling/queue/publish", json={"queue": "delays", "payload": {"i": i},
                                                                     "delay_seconds": d}, timeout=30)
    wait_until(lambda: len(receiver.at(path)) >= len(due), 60)
    return [a.at - due[a.json["i"]] for a in receiver.at(path)]


COST_MODES = {   # label: (100 messages per request?, an Idempotency-Key on every request, as the SDKs send)
    "single": (False, False), "single+key": (False, True), "batch": (True, False), "batch+key": (True, True)}


def cost(stack, s, receiver):
    """AWS requests per message delivered, publishing one by one and 100 at a time, with and
    without an idempotency key (each key is one more PutItem and UpdateItem per request)."""
    out = {}
    for mode, (batched, keyed) in COST_MODES.items():
        queue = "cost-" + mode.replace("+", "-")
        path = f"/bench-{queue}"
        setup_queue(stack, s, queue, receiver.url(path))

        def post(route, body):
            headers = {"Idempotency-Key": str(uuid.uuid4())} if keyed else {}
            return s.post(stack.base_url + route, json=body, headers=headers, timeout=60)
        counter = Counter().install()
        total = 100 * BATCHES
        if not batched:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda i: post("/v1/scheduling/queue/publish", {"queue": queue, "payload": {"i": i}}),
                              range(total)))
        else:
            for b in range(BATCHES):
                post("/v1/scheduling/queue/publish-batch",
                     {"messages": [{"queue": queue, "payload": {"i": b * 100 + i}} for i in range(100)]})
        wait_until(lambda: len(receiver.at(path)) >= total, 120)
        time.sleep(1.5)
        calls, wu, ru = counter.snapshot()
        counter.uninstall()
        n = len(receiver.at(path))
        api = 1 / 100 if batched else 1.0
        sqs = sum(v for k, v in calls.items() if k.startswith("sqs:")) / n
        out[mode] = {"calls": {k: v / n for k, v in calls.items()}, "cost": cost_per_million(
            api_requests=api, lambda_invocations=api + 0.1, lambda_gb_seconds=0.256 * 0.05 * api + 0.5 * 0.03,
            sqs_requests=sqs, write_units=wu / n, read_units=ru / n)}
    return out


def long_delays(stack):
    """The real deliver handler on a simulated clock: SQS holds each hop its whole seconds."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.aws import dispatch
    from chalicelib.core import clock
    from chalicelib.services import attempts, messages, queues
    stack._poller.stop()
    queues.put(stack.project_id, "sim", {"url": "https://hooks.example.com/sim"})
    ok = sender.AttemptResult(status=200, duration_ms=1, error=None, excerpt="", retry_after=None)
    rows = []
    for delay in (901, 3600, 86400, 30 * 86400, 365 * 86400):
        t = [1_800_000_000.37]
        sent, hops, arrived = [], 0, None
        with mock.patch.object(clock, "_now", lambda: t[0]), \
                mock.patch.object(dispatch, "enqueue", lambda w, wait=0.0: sent.append((w, wait))), \
                mock.patch.object(sender, "post", return_value=ok) as post:
            start = t[0]
            messages.publish(stack.project_id, {"queue": "sim", "payload": {}, "delay_seconds": delay}, None)
            while sent:
                work, wait = sent.pop(0)
                t[0] += dispatch.hop_delay(wait)
                if hops == 3 and start + delay - t[0] > 3600:   # identical middle hops: skip ahead
                    skipped = (start + delay - t[0] - 1800) // 900
                    t[0] += skipped * 900
                    hops += skipped
                attempts.process_batch([json.dumps(work)])
                hops += 1
                if post.call_count and arrived is None:
                    arrived = t[0]
        rows.append((delay, hops, arrived - (start + delay)))
    return rows


def main():
    stack, receiver = start_stack()
    s = http(stack)
    try:
        lat = latency(stack, s, receiver)
        late = short_delays(stack, s, receiver)
        costs = cost(stack, s, receiver)
        sim = long_delays(stack)
    finally:
        stack.stop()
        receiver.stop()
    report("queues: publish to arrival, delay 0", [
        (f"{len(lat)} messages, p50 / p99", f"{percentile(lat, 50) * 1000:.0f} ms / {percentile(lat, 99) * 1000:.0f} ms"),
    ])
    report("queues: lateness of delayed messages (arrival - due)", [
        ("short delays 1-13 s, real time: min / p50 / max (never < 0; goal max <= 2 s)",
         f"{min(late):.2f} s / {percentile(late, 50):.2f} s / {max(late):.2f} s  (n={len(late)})"),
    ] + [(f"{d} s simulated: SQS hops / lateness", f"{h} / {x:.3f} s") for d, h, x in sim])
    rows = []
    for mode in COST_MODES:
        c = costs[mode]
        rows.append((f"{mode}: AWS requests per message", json.dumps({k: round(v, 3) for k, v in sorted(c['calls'].items())})))
        rows.append((f"{mode}: USD per million messages delivered", json.dumps(c["cost"])))
    rows.append(("batch cost / single cost", f"{costs['batch']['cost']['total'] / costs['single']['cost']['total']:.2f}"))
    rows.append(("with keys: batch cost / single cost",
                 f"{costs['batch+key']['cost']['total'] / costs['single+key']['cost']['total']:.2f}"))
    report("queues: cost per million messages (list prices, see bench/awscount.py)", rows)
