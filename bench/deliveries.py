"""Issue 13 benchmark: GET /v1/scheduling/deliveries?state=failed on a project holding 100,000
deliveries (webhook sends, queue messages and cron runs; 5% failed), through the local stack's
HTTP API. Prints the time of the first page and of the last page (reached by following the
cursor), and how many pages there were. The records are written straight to DynamoDB in
batches (as the service would have written them, index attributes included) to keep set-up fast.

    BENCH=deliveries make bench        (BENCH_DELIVERIES=20000 for a quicker run)
"""
import os
import time
from concurrent.futures import ThreadPoolExecutor

from .common import http, median, report, start_stack

TOTAL = int(os.environ.get("BENCH_DELIVERIES", "100000"))
FAILED_EVERY = 20          # 5% failed
PAGE = 100
REPEAT = 5                 # each timed page is fetched this many times; the median is printed


def _records(project_id: str, start: int, count: int) -> list[dict]:
    from chalicelib.services import deliveries, delivery_index
    out = []
    for i in range(start, start + count):
        kind, source = (("webhook", {}) if i % 10 < 6 else
                        ("queue:orders", {"queue": "orders"}) if i % 10 < 9 else
                        ("cron", {"cron_id": "cron_01BENCH0000000000000000000"}))
        r = deliveries.new_record(project_id, kind=kind, url=f"https://hooks{i % 7}.example.com/in",
                                  payload='{"i": %d}' % i, retries=0, timeout_seconds=30, source=source,
                                  id_prefix="msg" if kind.startswith("queue") else "dlv")
        failed = i % FAILED_EVERY == 0
        status = 500 if failed else 200
        r.update({"state": "failed" if failed else "succeeded", "attempt_count": 1, "enqueued": 1,
                  "attempts": [{"n": 1, "at": r["created_at"], "status": status, "ms": 12, "error": None,
                                "excerpt": ""}]})
        r.update(delivery_index.fields(r))
        out.append(r)
    return out


def load(project_id: str) -> float:
    from chalicelib.aws import store
    t0 = time.time()
    chunk = 2000
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda s: store.put_many(_records(project_id, s, min(chunk, TOTAL - s))),
                      range(0, TOTAL, chunk)))
    return time.time() - t0


def timed_get(s, url) -> tuple[float, dict]:
    times, body = [], None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        resp = s.get(url, timeout=120)
        times.append(time.perf_counter() - t0)
        assert resp.status_code == 200, resp.text
        body = resp.json()
    return median(times) * 1000, body


def main():
    stack, receiver = start_stack()
    try:
        s = http(stack)
        load_s = load(stack.project_id)
        base = stack.base_url + f"/v1/scheduling/deliveries?state=failed&limit={PAGE}"
        first_ms, page = timed_get(s, base)
        pages, items, cursor, last_cursor = 1, len(page["items"]), page["next_cursor"], None
        while cursor:
            last_cursor = cursor
            page = s.get(base + f"&cursor={cursor}", timeout=120).json()
            pages += 1
            items += len(page["items"])
            cursor = page["next_cursor"]
        last_ms, last = timed_get(s, base + f"&cursor={last_cursor}") if last_cursor else (first_ms, page)
        all_ms, _ = timed_get(s, stack.base_url + f"/v1/scheduling/deliveries?limit={PAGE}")
        host_ms, _ = timed_get(s, stack.base_url + f"/v1/scheduling/deliveries?host=hooks3.example.com&state=failed"
                               f"&limit={PAGE}")
        report(f"one delivery list: state=failed on {TOTAL:,} deliveries ({TOTAL // FAILED_EVERY:,} failed), "
               f"pages of {PAGE}, median of {REPEAT}", [
                   ("records written (batch writes, 4 threads)", f"{load_s:.1f} s"),
                   ("failed deliveries listed / pages", f"{items:,} / {pages}"),
                   ("first page", f"{first_ms:.0f} ms"),
                   ("last page (after following the cursor)", f"{last_ms:.0f} ms ({len(last['items'])} items)"),
                   ("last / first", f"{last_ms / first_ms:.2f}x"),
                   ("first page, no filter", f"{all_ms:.0f} ms"),
                   ("first page, host + state (combined filters)", f"{host_ms:.0f} ms"),
               ])
    finally:
        receiver.stop()
        stack.stop()


if __name__ == "__main__":
    main()
