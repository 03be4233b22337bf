"""Issue 2 benchmarks: throughput, AWS requests and cost per delivery, batch concurrency,
cold import. Figures are ratios measured in one run where possible (the machine is shared)."""
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from .awscount import Counter, cost_per_million, itemise
from .common import http, median, report, start_stack, wait_until

N = 500


def throughput_and_cost(stack, receiver):
    counter = Counter().install()
    s = http(stack)
    path = "/bench-throughput"
    body = {"url": receiver.url(path), "payload": {"order_id": "ord_42", "status": "paid"}}
    t0 = time.time()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: s.post(stack.base_url + "/v1/scheduling/webhook/send",
                                               json=body, timeout=30).status_code, range(N)))
    accepted = time.time() - t0
    wait_until(lambda: len(receiver.at(path)) >= N, 300)
    elapsed = time.time() - t0
    counter.settle()   # let the last bookkeeping writes land before counting
    calls, wu, iwu, ru = counter.snapshot()
    detail = counter.detail()
    counter.uninstall()
    arrived = len(receiver.at(path))
    verified = sum(a.verified for a in receiver.at(path))
    per = {k: v / arrived for k, v in calls.items()}
    sqs = sum(v for k, v in per.items() if k.startswith("sqs:"))
    ddb = sum(v for k, v in per.items() if k.startswith("dynamodb:"))
    # deliver function: one invocation per batch; its GB-seconds from the handler time measured below
    return {
        "codes_ok": sum(c == 202 for c in codes), "arrived": arrived, "verified": verified,
        "accept_rate": N / accepted, "deliveries_per_s": arrived / elapsed,
        "per_delivery": per, "sqs": sqs, "ddb": ddb, "wu": wu / arrived, "iwu": iwu / arrived,
        "ru": ru / arrived, "units": itemise(detail, arrived),
    }


def batch_ratio(stack, receiver, rounds=3):
    """Deliver handler time for a batch of 10 to a receiver answering after 200 ms, over 1."""
    from chalicelib.aws import store
    from chalicelib.services.deliver import router
    from chalicelib.services.delivery import deliveries
    stack._poller.stop()
    path = "/bench-slow"
    receiver.script(path, [("sleep", 0.2)])

    def batch(n):
        bodies = []
        for _ in range(n):
            rec = deliveries.new_record(stack.project_id, kind="webhook", url=receiver.url(path),
                                        payload='{"a":1}', retries=0, timeout_seconds=30)
            store.put(rec)
            bodies.append(json.dumps(deliveries.work(rec["delivery_id"], 1, 0)))
        t = time.perf_counter()
        router.process_batch(bodies)
        return time.perf_counter() - t

    batch(1)  # warm connections
    ones, tens = [], []
    for _ in range(rounds):
        ones.append(batch(1))
        tens.append(batch(10))
    return median(ones), median(tens)


def import_ratio(rounds=7):
    code = "import time,sys; t=time.perf_counter(); import {m}; sys.stdout.write(str(time.perf_counter()-t))"
    app_t, boto_t = [], []
    for _ in range(rounds):
        for mod, out in (("boto3", boto_t), ("app", app_t)):
            r = subprocess.run([sys.executable, "-c", code.format(m=mod)], capture_output=True, text=True,
                               check=True)
            out.append(float(r.stdout))
    return median(app_t), median(boto_t)


def main():
    stack, receiver = start_stack()
    try:
        tp = throughput_and_cost(stack, receiver)
        one, ten = batch_ratio(stack, receiver)
    finally:
        stack.stop()
        receiver.stop()
    app_s, boto_s = import_ratio()
    report("(a) throughput through the local stack", [
        ("webhooks accepted (202) / arrived / signature verified", f"{tp['codes_ok']} / {tp['arrived']} / {tp['verified']}"),
        ("API accept rate (8 client threads)", f"{tp['accept_rate']:.0f} req/s"),
        ("deliveries per second, send to arrival of the last", f"{tp['deliveries_per_s']:.1f} /s"),
    ])
    rows = [(f"  {k}", f"{v:.2f}") for k, v in sorted(tp["per_delivery"].items())]
    # Lambda: 1 API invocation per send; deliver invocations ~ batches (>= 1/10 per delivery);
    # GB-s from the measured handler time for a batch of 10 at 512 MB (moto is slower than AWS).
    lambda_inv = 1 + 1 / 10
    gb_s = 0.256 * 0.05 + 0.5 * (ten / 10)
    cost = cost_per_million(api_requests=1, lambda_invocations=lambda_inv, lambda_gb_seconds=gb_s,
                            sqs_requests=tp["sqs"], write_units=tp["wu"], index_write_units=tp["iwu"],
                            read_units=tp["ru"])
    report("(b) AWS requests per successful delivery (botocore hooks)", rows + [
        ("SQS requests per delivery (incl. the poller's receive/delete)", f"{tp['sqs']:.2f}"),
        ("DynamoDB requests / write units (table + indexes) / read units",
         f"{tp['ddb']:.2f} / {tp['wu'] + tp['iwu']:.2f} / {tp['ru']:.2f}"),
        *tp["units"],
        ("cost per million deliveries, USD (itemised)", json.dumps(cost)),
    ])
    report("(c) deliver handler, receiver answering after 200 ms", [
        ("batch of 1 (median)", f"{one * 1000:.0f} ms"),
        ("batch of 10 (median)", f"{ten * 1000:.0f} ms"),
        ("ratio 10 / 1 (goal <= 1.5)", f"{ten / one:.2f}"),
    ])
    report("(d) cold import", [
        ("import app (median of 7, fresh interpreter)", f"{app_s * 1000:.0f} ms"),
        ("import boto3 (median of 7, same run)", f"{boto_s * 1000:.0f} ms"),
        ("ratio app / boto3 (goal <= 1.3)", f"{app_s / boto_s:.2f}"),
    ])
