"""Issue 3 benchmarks: create 10,000 cron jobs, list them page by page (the last page must cost
about what the first does: no scans), and the lateness of local firings."""
import os
import time
from concurrent.futures import ThreadPoolExecutor

from .common import http, median, percentile, report, start_stack

JOBS = int(os.environ.get("BENCH_CRON_JOBS", "10000"))
FIRING_JOBS = 30


def create_many(stack, s, n):
    body = {"name": "bench", "schedule": "0 9 * * *", "url": "https://hooks.example.com/x", "timezone": "Europe/London"}
    t0 = time.time()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: s.post(stack.base_url + "/v1/scheduling/cron", json={**body, "name": f"b{i}"},
                                               timeout=60).status_code, range(n)))
    return sum(c == 201 for c in codes), time.time() - t0


def list_all(stack, s):
    times, cursor, count = [], None, 0
    while True:
        q = f"?limit=100&cursor={cursor}" if cursor else "?limit=100"
        t = time.perf_counter()
        page = s.get(stack.base_url + "/v1/scheduling/cron" + q, timeout=60).json()
        times.append(time.perf_counter() - t)
        count += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return count, times


def firing_lateness(stack, s, receiver):
    path = "/bench-cron"
    if 60 - time.time() % 60 < 10:
        time.sleep(11)
    ids = [s.post(stack.base_url + "/v1/scheduling/cron", json={
        "name": f"tick{i}", "schedule": "* * * * *", "url": receiver.url(path)}, timeout=60).json()["cron_id"]
        for i in range(FIRING_JOBS)]
    boundary = (int(time.time()) // 60 + 1) * 60
    receiver.wait_for(path, FIRING_JOBS, timeout=120)
    late = [a.at - boundary for a in receiver.at(path)][:FIRING_JOBS]
    for cid in ids:
        s.delete(stack.base_url + f"/v1/scheduling/cron/{cid}", timeout=60)
    return late


def main():
    stack, receiver = start_stack()
    s = http(stack)
    try:
        late = firing_lateness(stack, s, receiver)
        ok, secs = create_many(stack, s, JOBS)
        count, times = list_all(stack, s)
    finally:
        stack.stop()
        receiver.stop()
    first, last = median(times[:3]), median(times[-3:])
    report(f"cron jobs: create {JOBS}, list, fire", [
        ("jobs created (201)", f"{ok} / {JOBS}"),
        ("create rate through the local stack (8 client threads)", f"{ok / secs:.0f} jobs/s"),
        ("jobs listed, pages of 100", f"{count} in {len(times)} pages"),
        ("first page / last page latency (median of 3)", f"{first * 1000:.1f} ms / {last * 1000:.1f} ms"),
        ("ratio last / first (goal <= 2)", f"{last / first:.2f}"),
        (f"firing lateness, {FIRING_JOBS} jobs at one minute: p50 / p99 (goal p99 < 2 s)",
         f"{percentile(late, 50):.2f} s / {percentile(late, 99):.2f} s  (n={len(late)})"),
    ])
