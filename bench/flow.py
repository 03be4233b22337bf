"""Issue 15 bench: what flow control costs per delivery. The same 50 queue messages go through
the real deliver code (concurrent batches of 10, moto, the sender answering 200 at once) under
each kind of limit; the AWS requests the deliveries make are counted (publishing is not) and
compared with an unlimited queue. "not at the limit": the limit never makes a message wait;
"at the limit": most messages wait at least once (a rate well under the arrival rate; FIFO).
Also: a healthy endpoint's circuit breaker (on by default) costs its per-batch read."""
import json
import time
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

from .awscount import Counter, cost_per_million
from .common import report, start_stack

N = 50
MODES = {   # label: the queue's limits
    "no limit, breaker off": {"circuit_breaker": None},
    "no limit (breaker on, default)": {},
    "rate 100000/s (not at the limit)": {"rate_limit": {"count": 100_000, "period_seconds": 1}},
    "rate 50/s (at the limit)": {"rate_limit": {"count": 50, "period_seconds": 1}},
    "parallelism 10 (4 instances x 10: often at it)": {"parallelism": 10},
    "parallelism 1, FIFO (at the limit)": {"parallelism": 1},
}


def run_mode(stack, label, limits):
    from chalicelib import sender
    from chalicelib.aws import clients, dispatch
    from chalicelib.services.deliver import router
    from chalicelib.services.queues import messages, queues
    name = "flow-" + str(abs(hash(label)))
    queues.put(stack.project_id, name, {"url": "https://hooks.example.com/flow", **limits})
    ok = sender.AttemptResult(status=200, duration_ms=1, error=None, excerpt="", retry_after=None)
    sqs, url = clients.sqs(), dispatch.dispatch_queue_url()
    with mock.patch.object(sender, "post", side_effect=lambda *a, **k: time.sleep(0.01) or ok) as post:
        messages.publish_batch(stack.project_id, {"messages": [{"queue": name, "payload": {"i": i}}
                                                               for i in range(N)]}, None)
        counter = Counter().install()
        started, pool = time.time(), ThreadPoolExecutor(4)   # four deliver function instances

        def batch(msgs):
            router.process_batch([m["Body"] for m in msgs], message_ids=[m["MessageId"] for m in msgs])
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                            for i, m in enumerate(msgs)])
        while post.call_count < N and time.time() - started < 120:
            got = []
            for _ in range(4):
                msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                           VisibilityTimeout=60).get("Messages", [])
                if msgs:
                    got.append(pool.submit(batch, msgs))
            for f in got:
                f.result()
            if not got:
                time.sleep(0.2)
        took = time.time() - started
        calls, wu, iwu, ru = counter.snapshot()
        counter.uninstall()
        pool.shutdown()
    assert post.call_count == N, (label, post.call_count)
    sqs_n = sum(v for k, v in calls.items() if k.startswith("sqs:"))
    return {"calls": {k: v / N for k, v in sorted(calls.items()) if v}, "seconds": took,
            "cost": cost_per_million(api_requests=0, lambda_invocations=0, lambda_gb_seconds=0,
                                     sqs_requests=sqs_n / N, write_units=wu / N, read_units=ru / N,
                                     index_write_units=iwu / N)}


def main():
    stack, receiver = start_stack()
    stack._poller.stop()          # this bench is the deliver function
    stack._scheduler.stop()
    stack.reconciler.stop()
    try:
        rows = {label: run_mode(stack, label, limits) for label, limits in MODES.items()}
    finally:
        stack.stop()
        receiver.stop()
    base = rows["no limit, breaker off"]
    out = []
    for label, r in rows.items():
        extra = {k: round(v - base["calls"].get(k, 0), 2) for k, v in r["calls"].items()
                 if round(v - base["calls"].get(k, 0), 2)}
        out.append((f"{label}: extra AWS requests per delivery", json.dumps(extra)))
        out.append((f"{label}: extra USD per million deliveries (SQS+DynamoDB)",
                    f"{r['cost']['total'] - base['cost']['total']:.3f}  (all: {r['cost']['total']:.3f}; "
                    f"{N} in {r['seconds']:.1f} s)"))
    report("flow control: overhead per delivery (list prices, see bench/awscount.py)", out)


if __name__ == "__main__":
    main()
