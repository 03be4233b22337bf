"""Issue 8 load test on the local stack: 10,000 deliveries (batch publishes) while 1,000 cron
jobs fire every minute. Throughput, publish-to-arrival latency, the DLQ, and memory over time
(equal rounds: the stack's memory after the last should not exceed the first's by much; the
receiver's own record of arrivals is cleared between rounds, since it lives in this process)."""
import gc
import json
import os
import threading
import time

from .common import http, percentile, report, start_stack, wait_until

DELIVERIES = int(os.environ.get("BENCH_LOAD_DELIVERIES", "10000"))
CRON_JOBS = int(os.environ.get("BENCH_LOAD_CRON_JOBS", "100"))   # 1,000 outruns the local stack: docs/benchmarks.md
ROUNDS = int(os.environ.get("BENCH_LOAD_ROUNDS", "4"))


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
        print(f"  load: {CRON_JOBS} cron jobs created; {ROUNDS} rounds of {DELIVERIES // ROUNDS} deliveries follow",
              flush=True)
        per_round = DELIVERIES // ROUNDS
        rounds, cron_arrivals = [], 0    # (elapsed, latencies, memory after)
        for _ in range(ROUNDS):
            elapsed, lat = round_of(stack, s, receiver, "load", path, per_round)
            cron_arrivals += len(receiver.at(cron_path))
            receiver.arrivals = []       # the bench's own memory, not the stack's
            gc.collect()
            rounds.append((elapsed, lat, (rss_mb(os.getpid()), rss_mb(moto_pid))))
            # printed as it goes, so a run stopped early still leaves its figures
            print(f"  round {len(rounds)}/{ROUNDS}: {per_round / elapsed:.1f} deliveries/s, latency p50 "
                  f"{percentile(lat, 50):.2f} s p99 {percentile(lat, 99):.2f} s, cron arrivals so far "
                  f"{cron_arrivals}, RSS stack/moto {rounds[-1][2][0]:.0f}/{rounds[-1][2][1]:.0f} MB", flush=True)
        from chalicelib.aws import clients, dispatch
        attrs = clients.sqs().get_queue_attributes(QueueUrl=dispatch.dead_letter_queue_url(),
                                                   AttributeNames=["ApproximateNumberOfMessages"])
        dlq = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
        failed = s.get(stack.base_url + "/v1/scheduling/queue/load", timeout=60).json()["counts"]
    finally:
        stop.set()
        stack.stop()
        receiver.stop()
    lat = [x for r in rounds for x in r[1]]
    mems = [r[2] for r in rounds]
    report(f"load: {DELIVERIES} deliveries in {ROUNDS} rounds with {CRON_JOBS} cron jobs firing every minute", [
        ("throughput per round", " / ".join(f"{per_round / r[0]:.1f}" for r in rounds) + " deliveries/s"),
        ("publish-to-arrival latency p50 / p99", f"{percentile(lat, 50):.2f} s / {percentile(lat, 99):.2f} s"),
        ("cron deliveries that arrived meanwhile", str(cron_arrivals)),
        ("DLQ messages (goal 0) / queue counts", f"{dlq} / {json.dumps(failed)}"),
        ("RSS MB, stack process / moto: before", f"{mem0[0]:.0f} / {mem0[1]:.0f}"),
        ("RSS MB of the stack process after each round", " / ".join(f"{m[0]:.0f}" for m in mems)),
        ("RSS MB of moto after each round (it keeps every record)", " / ".join(f"{m[1]:.0f}" for m in mems)),
        ("stack growth, last round vs first (goal: ~0)",
         f"{mems[-1][0] - mems[0][0]:+.0f} MB ({(mems[-1][0] / mems[0][0] - 1) * 100:+.1f} %)"),
        ("samples (every 5 s): stack RSS min / max", f"{min(x[1] for x in samples):.0f} / {max(x[1] for x in samples):.0f}"
         if samples else "-"),
    ])
