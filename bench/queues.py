"""Issue 4 benchmarks: publish-to-arrival latency, delay lateness (short delays in real time,
long ones on a simulated clock through the real handler), and the cost per million messages
of single versus batch publishing, from counted AWS requests."""
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from .awscount import Counter, cost_per_million, itemise
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
            return s.post(stack.base_url + route, json=body, headers=headers, timeout=600)   # counting reads every item twice: slow on moto
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
        wait_until(lambda: len(receiver.at(path)) >= total, 600)   # all of them, or the counts per message run high
        counter.settle()
        calls, wu, iwu, ru = counter.snapshot()
        detail = counter.detail()
        counter.uninstall()
        n = len(receiver.at(path))
        api = 1 / 100 if batched else 1.0
        sqs = sum(v for k, v in calls.items() if k.startswith("sqs:")) / n
        out[mode] = {"n": n, "total": total, "calls": {k: v / n for k, v in calls.items()}, "units": itemise(detail, n),
                     "cost": cost_per_million(
            api_requests=api, lambda_invocations=api + 0.1, lambda_gb_seconds=0.256 * 0.05 * api + 0.5 * 0.03,
            sqs_requests=sqs, write_units=wu / n, index_write_units=iwu / n, read_units=ru / n)}
    return out


DELAYS = (60, 3600, 86400, 365 * 86400)


def delay_costs(stack):
    """One delayed message each, end to end through the real code on a simulated clock: publish,
    the reconciler's sweep when the wait comes within SQS's reach, SQS's delay (moto is told 0 s;
    the clock moves by the real delay), the deliver handler. AWS requests counted per message;
    the reconciler's fixed per-run Queries (one per shard) are its own line, not the message's."""
    from unittest import mock
    from chalicelib import sender
    from chalicelib.aws import clients, dispatch
    from chalicelib.core import clock, due
    from chalicelib.services.deliver import router
    from chalicelib.services.queues import messages, queues
    from chalicelib.services.repair import reconciler
    stack._poller.stop()          # this bench is the deliver function, the emulator and the reconciler
    stack._scheduler.stop()
    stack.reconciler.stop()
    queues.put(stack.project_id, "sim", {"url": "https://hooks.example.com/sim"})
    ok = sender.AttemptResult(status=200, duration_ms=1, error=None, excerpt="", retry_after=None)
    real_hop, sqs, url = dispatch.hop_delay, clients.sqs(), dispatch.dispatch_queue_url()
    rows = {}
    for delay in DELAYS:
        t = [1_800_000_000.37]
        held = []
        counter = Counter().install()
        with mock.patch.object(clock, "_now", lambda: t[0]), \
                mock.patch.object(dispatch, "hop_delay", lambda wait: held.append(real_hop(wait)) or 0), \
                mock.patch.object(sender, "post", return_value=ok) as post:
            start, runs = t[0], 0
            messages.publish(stack.project_id, {"queue": "sim", "payload": {}, "delay_seconds": delay}, None)
            if delay > due.SQS_LEAD:
                t[0] = start + delay - due.SQS_LEAD + 30          # the sweep, up to a minute later
                reconciler.run()
                runs += 1
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
            t[0] += held[-1]                                      # what SQS would have held it
            router.process_batch([m["Body"] for m in msgs], message_ids=[m["MessageId"] for m in msgs])
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                            for i, m in enumerate(msgs)])
            assert post.call_count == 1 and t[0] >= start + delay
        calls, wu, iwu, ru = counter.snapshot()
        counter.uninstall()
        calls["dynamodb:Query"] -= runs * due.SHARDS              # the sweep's fixed cost, not this message's
        ru -= runs * due.SHARDS * 0.5     # each an empty keys-only GSI Query: 0.5 read unit
        rows[delay] = {"calls": {k: v for k, v in calls.items() if v}, "late": t[0] - (start + delay),
                       "cost": cost_per_million(
                           api_requests=1, lambda_invocations=1.1, lambda_gb_seconds=0.256 * 0.05 + 0.5 * 0.03,
                           sqs_requests=sum(v for k, v in calls.items() if k.startswith("sqs:")),
                           write_units=wu, index_write_units=iwu, read_units=ru)}
    runs_per_month = 30 * 86400 / due.RECONCILE_EVERY
    fixed = cost_per_million(api_requests=0, lambda_invocations=1, lambda_gb_seconds=0.256 * 0.2, sqs_requests=0,
                             write_units=0, read_units=due.SHARDS * 0.5)["total"] * runs_per_month / 1e6
    return rows, fixed


def main():
    stack, receiver = start_stack()
    s = http(stack)
    try:
        lat = latency(stack, s, receiver)
        late = short_delays(stack, s, receiver)
        costs = cost(stack, s, receiver)
        sim, fixed = delay_costs(stack)
    finally:
        stack.stop()
        receiver.stop()
    report("queues: publish to arrival, delay 0", [
        (f"{len(lat)} messages, p50 / p99", f"{percentile(lat, 50) * 1000:.0f} ms / {percentile(lat, 99) * 1000:.0f} ms"),
    ])
    report("queues: lateness of delayed messages (arrival - due)", [
        ("short delays 1-13 s, real time: min / p50 / max (never < 0; goal max <= 2 s)",
         f"{min(late):.2f} s / {percentile(late, 50):.2f} s / {max(late):.2f} s  (n={len(late)})"),
    ])
    hour = sim[3600]["cost"]["total"]
    report("queues: one delayed message, publish to arrival (simulated clock, real code, moto)", [
        (f"delay {d:>9} s: USD per million / x 1-hour delay / lateness / AWS requests",
         f"{r['cost']['total']:.3f} / {r['cost']['total'] / hour:.2f} / {r['late']:.3f} s / "
         + json.dumps(dict(sorted(r["calls"].items())))) for d, r in sim.items()] + [
        ("the reconciler's own runs (8 Queries each, every minute), USD per month", f"{fixed:.3f}")])
    rows = []
    for mode in COST_MODES:
        c = costs[mode]
        rows.append((f"{mode}: messages delivered / published", f"{c['n']} / {c['total']}"))
        rows.append((f"{mode}: AWS requests per message", json.dumps({k: round(v, 3) for k, v in sorted(c['calls'].items())})))
        rows += [(f"{mode}: {k.strip()}", v) for k, v in c["units"]]
        rows.append((f"{mode}: USD per million messages delivered", json.dumps(c["cost"])))
    rows.append(("batch cost / single cost", f"{costs['batch']['cost']['total'] / costs['single']['cost']['total']:.2f}"))
    rows.append(("with keys: batch cost / single cost",
                 f"{costs['batch+key']['cost']['total'] / costs['single+key']['cost']['total']:.2f}"))
    report("queues: cost per million messages (list prices, see bench/awscount.py)", rows)
