"""Issue 13 benchmark: GET /v1/scheduling/deliveries?state=failed on a project holding 100,000
deliveries (webhook sends, queue messages and cron runs; 1% failed), through the app's HTTP
routes (chalice.test.Client) on moto in process. Prints the time of the first page and of the
last page (reached by following the cursor), and how many pages there were. The records are
written straight into moto's DynamoDB (as the service would have written them, index attributes
included) to keep set-up fast.

Read the figures knowing that moto answers a Query on a GSI by walking every item of the table:
here every page costs O(table), first and last alike. DynamoDB reads only the index partition
from the cursor on, O(page).

    BENCH=deliveries make bench        (BENCH_DELIVERIES=20000 for a quicker run)
"""
import json
import os
import time

from .common import median, report

TOTAL = int(os.environ.get("BENCH_DELIVERIES", "100000"))
FAILED_EVERY = 100         # 1% failed
PAGE = 100
REPEAT = 3                 # each timed page is fetched this many times: median [min–max] printed


def _records(project_id: str, start: int, count: int) -> list[dict]:
    from chalicelib.services.delivery import deliveries, delivery_index
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
    """Straight into moto's table (no HTTP, no serialisation round trip): set-up, not measured."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib import config
    from chalicelib.aws import store
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][os.environ.get("AWS_DEFAULT_REGION", "us-east-1")]
    t0 = time.time()
    for start in range(0, TOTAL, 5000):
        for r in _records(project_id, start, min(5000, TOTAL - start)):
            backend.put_item(config.table_name(), store._to_ddb(store._numbers(r)))
    return time.time() - t0


class Http:
    """The app's routes in process, with the project's key."""

    def __init__(self, client, api_key):
        self.client, self.headers = client, {"Authorization": f"Bearer {api_key}"}

    def get(self, path):
        resp = self.client.http.get(path, headers=self.headers)
        assert resp.status_code == 200, resp.body
        return json.loads(resp.body)


def timed_get(s, path, repeat=REPEAT) -> tuple[list[float], dict]:
    """The page fetched `repeat` times: each fetch's milliseconds, and the body."""
    times, body = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        body = s.get(path)
        times.append((time.perf_counter() - t0) * 1000)
    return times, body


def counted(fetch) -> tuple[float, int]:
    """The read units (and Queries) one fetch costs, counted as DynamoDB bills them."""
    from .awscount import Counter
    counter = Counter().install()
    try:
        fetch()
        calls, _, _, ru = counter.snapshot()
    finally:
        counter.uninstall()
    return ru, calls.get("dynamodb:Query", 0)


def spread(times: list[float]) -> str:
    return f"{median(times):.0f} ms" + (f" [{min(times):.0f}–{max(times):.0f}]" if len(times) > 1 else "")


def main():
    os.environ.pop("AWS_ENDPOINT_URL", None)   # moto in process, not the stack an earlier suite ran
    from chalicelib.aws import clients, dispatch
    clients.reset()                            # ... whose clients and queue URLs would still point there
    dispatch.reset()
    from chalice.test import Client
    from moto import mock_aws

    with mock_aws():
        from app import app
        from chalicelib.services.tenancy import projects
        from local import provision
        provision.provision()
        project = projects.create_project(plan="unlimited")
        load_s = load(project["project_id"])
        with Client(app) as client:
            s = Http(client, project["api_key"])
            base = f"/v1/scheduling/deliveries?state=failed&limit={PAGE}"
            first_ms, page = timed_get(s, base)
            first_first = page
            pages, items, cursor, last_cursor = 1, len(page["items"]), page["next_cursor"], None
            while cursor:
                last_cursor = cursor
                page = s.get(base + f"&cursor={cursor}")
                pages += 1
                items += len(page["items"])
                cursor = page["next_cursor"]
            last_ms, last = timed_get(s, base + f"&cursor={last_cursor}") if last_cursor else (first_ms, page)
            # what DynamoDB would bill for each (read units as awscount counts them): the figure
            # that does not depend on moto walking the table for every Query
            first_ru, first_q = counted(lambda: s.get(base))
            last_ru, last_q = counted(lambda: s.get(base + f"&cursor={last_cursor}")) if last_cursor else (first_ru, first_q)
            all_ru, all_q = counted(lambda: s.get(f"/v1/scheduling/deliveries?limit={PAGE}"))
            assert first_first["items"]
            ratios = [b / a for a, b in zip(first_ms, last_ms)]
            all_ms, _ = timed_get(s, f"/v1/scheduling/deliveries?limit={PAGE}", 1)
            host_ms, _ = timed_get(s, f"/v1/scheduling/deliveries?host=hooks3.example.com&state=failed&limit={PAGE}", 1)
    report(f"one delivery list: state=failed on {TOTAL:,} deliveries ({TOTAL // FAILED_EVERY:,} failed), "
           f"pages of {PAGE}, median [min–max] of {REPEAT} fetches, moto in process", [
               ("records written (straight into moto)", f"{load_s:.1f} s"),
               ("failed deliveries listed / pages", f"{items:,} / {pages}"),
               ("first page", spread(first_ms)),
               ("last page (after following the cursor)", f"{spread(last_ms)} ({len(last['items'])} items)"),
               ("last / first (fetch by fetch)", f"{median(ratios):.2f}x [{min(ratios):.2f}–{max(ratios):.2f}]"),
               ("read units (Queries) of the first page / of the last page", f"{first_ru:.1f} ({first_q}) / {last_ru:.1f} ({last_q})"),
               ("last / first in read units (goal <= 2)", f"{last_ru / first_ru:.2f}x"),
               ("read units (Queries) of a page without a filter", f"{all_ru:.1f} ({all_q})"),
               ("first page, no filter (once)", spread(all_ms)),
               ("first page, host + state (combined filters; once)", spread(host_ms)),
           ])


if __name__ == "__main__":
    main()
