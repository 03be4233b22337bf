"""Issue 8 load test on the local stack: 10,000 deliveries (batch publishes) while 1,000 cron
jobs fire every minute. Throughput, publish-to-arrival latency, the DLQ, and memory over time
(two equal rounds: memory after the second should not exceed the first's by much)."""
import json
import os
import threading
import time

from .common import http, percentile, report, start_stack, wait_until

DELIVERIES = int(os.environ.get("BENCH_LOAD_DELIVERIES", "10000"))
CRON_JOBS = int(os.environ.get("BENCH_LOAD_CRON_JOBS", "1000"))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


IN_FLIGHT = 400   # publishers wait while this many are unarrived: moto's SQS scans the whole
                  # queue on every receive, so a deeper backlog measures moto, not the service


def round_of(stack, s, receiver, name, path, n):
    sent_at = {}
    t0 = time.time()
    for b in range(0, n, 100):
        wait_until(lambda: b - len({a.json["i"] for a in receiver.at(path)}) < IN_FLIGHT, 120, step=0.05)
        now = time.time()
        msgs = [{"queue": name, "payload": {"i": i, "t": now}} for i in range(b, min(n, b + 100))]
        for i in range(b, min(n, b + 100)):
            sent_at[i] = now
        r = s.post(stack.base_url + "/v1/scheduling/queue/publish-batch", json={"messages": msgs}, timeout=60)
        assert r.status_code == 202, r.text
    wait_until(lambda: len({a.json["i"] for a in receiver.at(path)}) >= n, 900, step=0.5)
    elapsed = time.time() - t0
    first = {}
    for a in receiver.at(path):
        first.setdefault(a.json["i"], a.at)
    lat = [first[i] - sent_at[i] for i in first]
    return elapsed, lat


def main():
    stack, receiver = start_stack()
    s = http(stack)
    moto_pid = stack._moto.proc.pid
    samples, stop = [], threading.Event()

    def sample():
        while not stop.wait(5):
            samples.append((time.time(), rss_mb(os.getpid()), rss_mb(moto_pid)))
    threading.Thread(target=sample, daemon=True).start()
    try:
        path, cron_path = "/load", "/load-cron"
        s.put(stack.base_url + "/v1/scheduling/queue/load", json={"url": receiver.url(path)}, timeout=30)
        for i in range(CRON_JOBS):
            s.post(stack.base_url + "/v1/scheduling/cron", timeout=60, json={
                "name": f"load{i}", "schedule": "* * * * *", "url": receiver.url(cron_path)})
        mem0 = (rss_mb(os.getpid()), rss_mb(moto_pid))
        half = DELIVERIES // 2
        e1, lat1 = round_of(stack, s, receiver, "load", path, half)
        mem1 = (rss_mb(os.getpid()), rss_mb(moto_pid))
        receiver.arrivals = [a for a in receiver.arrivals if a.path != path]
        e2, lat2 = round_of(stack, s, receiver, "load", path, half)
        mem2 = (rss_mb(os.getpid()), rss_mb(moto_pid))
        from chalicelib.aws import clients, dispatch
        attrs = clients.sqs().get_queue_attributes(QueueUrl=dispatch.dead_letter_queue_url(),
                                                   AttributeNames=["ApproximateNumberOfMessages"])
        dlq = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        cron_arrivals = len(receiver.at(cron_path))
        failed = s.get(stack.base_url + "/v1/scheduling/queue/load", timeout=60).json()["counts"]
    finally:
        stop.set()
        stack.stop()
        receiver.stop()
    lat = lat1 + lat2
    report(f"load: {DELIVERIES} deliveries with {CRON_JOBS} cron jobs firing every minute", [
        ("throughput, round 1 / round 2", f"{half / e1:.1f} / {half / e2:.1f} deliveries/s"),
        ("publish-to-arrival latency p50 / p99", f"{percentile(lat, 50):.2f} s / {percentile(lat, 99):.2f} s"),
        ("cron deliveries that arrived meanwhile", str(cron_arrivals)),
        ("DLQ messages (goal 0) / queue counts", f"{dlq} / {json.dumps(failed)}"),
        ("RSS MB, stack process / moto: before", f"{mem0[0]:.0f} / {mem0[1]:.0f}"),
        ("RSS MB after round 1", f"{mem1[0]:.0f} / {mem1[1]:.0f}"),
        ("RSS MB after round 2 (growth r2 vs r1, stack process)",
         f"{mem2[0]:.0f} / {mem2[1]:.0f}  ({(mem2[0] - mem1[0]):+.0f} MB)"),
        ("samples (every 5 s): stack RSS min / max", f"{min(x[1] for x in samples):.0f} / {max(x[1] for x in samples):.0f}"
         if samples else "-"),
    ])
