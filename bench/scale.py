"""Issue 23: what one delivery costs and where its writes land, for every way of sending one.

Through the local stack (the real API over HTTP, the real deliver handler, moto), with every
AWS request counted and every DynamoDB write billed as DynamoDB bills it (bench/awscount.py):

(a) per delivery, for a webhook, a single publish and a message in a batch of 100, each with
    an Idempotency-Key, with 1 KB and 10 KB payloads, and a webhook that needs one retry:
    requests, write and read units, and the bill per million on each front door (REST and
    HTTP API), Lambda at the packaged functions' memory (arm64), logs and storage included;
(b) the heat of every table and index partition key over the whole mixed run (the share of
    write units the hottest partition of each took), and the ceilings that implies: DynamoDB
    takes 1,000 write units a second per partition, so an index whose hottest partition takes
    u units per delivery caps a project (or, for keys shared by every project, the deployment)
    at 1000 / u deliveries a second. What cannot run here (AWS at 10,000 deliveries/s) is this
    arithmetic from measured per-request counts, not a load test.

Lambda time is the time measured here (an upper bound: moto is slower than DynamoDB)."""
import json
import math
import re
import os
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from .awscount import PRICES, Counter, item_size
from .common import http, report, start_stack, wait_until

GB = 0.256                      # the packaged functions' memory (deploy: measured, docs/deployment.md)
ARM = 0.8                       # arm64's price per GB-s against x86 (Lambda pricing)
HTTP_API = 1.00 / 1e6           # API Gateway HTTP API, per request of up to 512 KB
STORAGE_GB_MONTH = 0.25         # DynamoDB standard table class
INDEX_ITEM_OVERHEAD = 100       # bytes DynamoDB adds to each index entry's size for storage
PARTITION_WU = 1000             # write units a second one partition takes
TABLE_QUOTA_WU = 40_000         # an on-demand table's default throughput quota (write units a second)
LOG_GB = 0.50                   # CloudWatch Logs ingestion
AWS_CALL_S = 0.010               # an in-region DynamoDB or SQS request, generously
# CPU at a full core's speed (deploy/measure_memory.py, 2026-12-08, median of 3 runs, clients warm):
# a webhook send 2.8 ms, a publish-batch of 100 48 ms, i.e. 2.34 ms a request + 0.46 ms a message;
# the deliver function 33 ms a batch of 10 attempts.
CPU_REQUEST_S = 0.00234
CPU_MESSAGE_S = 0.00046
CPU_ATTEMPT_S = 0.0033
VCPU_GB = 1.769                 # Lambda gives one vCPU at 1,769 MB: c s of a full core's CPU is c x 1.769 GB-s at any size
SIZES = {"1 KB": 1024, "10 KB": 10 * 1024}


def payload(size: int, i: int) -> dict:
    """A realistic JSON event of about `size` bytes (an order with line items)."""
    items = []
    body = {"type": "order.paid", "order_id": f"ord_{i:08d}", "customer": "cus_4821", "items": items}
    while len(json.dumps(body)) < size - 60:
        items.append({"sku": f"SKU-{len(items):05d}", "qty": len(items) % 5 + 1, "price_cents": 1299 + len(items)})
    return body


class Timed:
    """The deliver handler's own time per message (what its Lambda is billed for)."""

    def __init__(self, poller):
        self.poller, self.real, self.seconds, self.messages, self.lock = poller, poller.handler, 0.0, 0, threading.Lock()

        def handler(event, context=None):
            t = time.perf_counter()
            try:
                return self.real(event, context)
            finally:
                with self.lock:
                    self.seconds += time.perf_counter() - t
                    self.messages += len((event or {}).get("Records", []))
        poller.handler = handler


def _diff(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def scenario(stack, s, receiver, counter, timed, name, kind, size, n, retry=False):
    """Send n deliveries one way; return everything counted per delivery."""
    path = f"/scale-{uuid.uuid4().hex[:8]}"
    paths = [f"{path}-{i}" for i in range(n)] if retry else [path]
    for p in paths if retry else ():
        receiver.script(p, [500, 200])   # each delivery fails once, then lands
    base = stack.base_url + "/v1/scheduling"
    latencies = []
    if kind == "queue" or kind == "batch":
        s.put(f"{base}/queue/{path[1:]}", json={"url": receiver.url(path)}, timeout=30)
    calls0, det0, t0, m0 = dict(counter.calls), counter.detail(), timed.seconds, timed.messages

    def post(url, body):
        t = time.perf_counter()
        r = s.post(url, json=body, headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=60)
        latencies.append(time.perf_counter() - t)
        assert r.status_code in (200, 201, 202), (r.status_code, r.text[:300])
        data = r.json()
        made.extend([x["message_id"] for x in data["results"]] if "results" in data
                    else [data.get("delivery_id") or data.get("message_id")])
        return r
    requests_made, request_bytes, made = 0, [], []
    if kind == "webhook":
        def one(i):
            body = {"url": receiver.url(paths[i] if retry else path), "payload": payload(size, i), "retries": 3,
                    # the retry case's failures are by design: its breaker would hold the rest
                    **({"circuit_breaker": None} if retry else {})}
            request_bytes.append(len(json.dumps(body)))
            post(f"{base}/webhook/send", body)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(n)))
        requests_made = n
    elif kind == "queue":
        def one(i):
            body = {"queue": path[1:], "payload": payload(size, i)}
            request_bytes.append(len(json.dumps(body)))
            post(f"{base}/queue/publish", body)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(n)))
        requests_made = n
    else:
        for b in range(n // 100):
            body = {"messages": [{"queue": path[1:], "payload": payload(size, b * 100 + i)} for i in range(100)]}
            request_bytes.append(len(json.dumps(body)))
            post(f"{base}/queue/publish-batch", body)
        requests_made = n // 100
    print(f"  {name}: {n} accepted, waiting for arrivals", file=sys.stderr, flush=True)
    def arrived():
        return sum(len(receiver.at(p)) for p in paths)
    assert wait_until(lambda: arrived() >= n * (2 if retry else 1), 600), (name, arrived())
    counter.settle()
    calls = _diff(dict(counter.calls), calls0)
    det = _diff(counter.detail(), det0)
    per = {k: v / n for k, v in calls.items()}
    deliver_s = (timed.seconds - t0) / max(1, timed.messages - m0)
    api_s = statistics.median(latencies) * requests_made / n
    http_units = sum(math.ceil(b / (512 * 1024)) for b in request_bytes) / n
    return {"name": name, "n": n, "per": per, "det": {k: v / n for k, v in det.items()},
            "api_requests": requests_made / n, "http_api_units": http_units, "api_s": api_s,
            "deliver_s": deliver_s, "sqs": sum(v for k, v in per.items() if k.startswith("sqs:")),
            "attempts": 2 if retry else 1, "stored": stored_bytes(made[:50])}


def stored_bytes(sample_ids) -> float:
    """Bytes a finished delivery keeps in DynamoDB: its item and its index entries."""
    from chalicelib import config
    from chalicelib.aws import clients, resources
    ddb = clients.dynamodb()
    sizes = []
    for d in sample_ids:
        raw = ddb.get_item(TableName=config.table_name(), Key={"pk": {"S": f"DLV#{d}"}, "sk": {"S": "DLV"}},
                           ConsistentRead=True).get("Item")
        if not raw:
            continue
        total = item_size(raw)
        for name, key in resources.DELIVERY_INDEXES.items():
            if key in raw:
                kept = {"pk", "sk", key, resources.DELIVERY_INDEX_SORT} | (
                    set(resources.LIST_PROJECTION) if name == "ix_list" else set())
                total += item_size({k: v for k, v in raw.items() if k in kept}) + INDEX_ITEM_OVERHEAD
        sizes.append(total)
    return statistics.median(sizes) if sizes else 0.0


POLLER_CALLS = ("sqs:ReceiveMessage", "sqs:DeleteMessageBatch")
PARTS = ("lambda", "sqs", "dynamodb_writes", "dynamodb_reads", "logs", "storage_month", "api_rest", "api_http")


def bill(r: dict, log_bytes_per_attempt: float, stored: float, retention_days=30) -> dict:
    """USD per million deliveries, itemised; `rest` and `http` totals for the two front doors."""
    d = r["det"]
    wu = d.get("wu:table", 0) + d.get("wu:index", 0)
    ru = sum(v for k, v in d.items() if k.startswith("ru:"))
    # Lambda on AWS, estimated from what was counted: the waits, AWS_CALL_S per AWS request the
    # delivery made (DynamoDB and SQS answer in single-digit ms in-region), billed at the
    # function's memory; and the CPU (measured at a full core, above), which at M MB runs
    # 1,769 / M times longer and so costs its full-core seconds x 1.769 GB whatever the memory.
    # The local wall time (moto, 8 client threads on 2 cores) is printed beside it for comparison.
    # (the receives and deletes are the event source's, made by Lambda's pollers outside the function's time)
    calls = sum(v for k, v in r["per"].items() if k.startswith(("dynamodb:", "sqs:")) and k not in POLLER_CALLS)
    cpu = r["api_requests"] * CPU_REQUEST_S + CPU_MESSAGE_S + r["attempts"] * CPU_ATTEMPT_S
    gb_seconds = calls * AWS_CALL_S * GB + cpu * VCPU_GB
    lam = (r["api_requests"] + 1 / 10) * 0.20 / 1e6 + gb_seconds * PRICES["lambda_gb_second"] * ARM
    r["lambda_upper"] = ((r["api_requests"] + 1 / 10) * 0.20 / 1e6
                         + (r["api_s"] + r["deliver_s"]) * GB * PRICES["lambda_gb_second"] * ARM) * 1e6
    parts = {"lambda": lam, "sqs": r["sqs"] * PRICES["sqs_request"],
             "dynamodb_writes": wu * PRICES["ddb_write_unit"], "dynamodb_reads": ru * PRICES["ddb_read_unit"],
             "logs": r["attempts"] * log_bytes_per_attempt / 1e9 * LOG_GB,
             "storage_month": stored / 1e9 * STORAGE_GB_MONTH * retention_days / 30}
    common = sum(parts.values())
    per_delivery = common - parts["storage_month"]   # what the issue prices per delivery; storage is per month kept
    out = {k: round(v * 1e6, 3) for k, v in parts.items()}
    out["delivery_rest"] = round((per_delivery + r["api_requests"] * PRICES["apigw_request"]) * 1e6, 2)
    out["delivery_http"] = round((per_delivery + r["http_api_units"] * HTTP_API) * 1e6, 2)
    out["reads"] = ru
    out["api_requests"] = r["api_requests"]
    out["http_api_units"] = r["http_api_units"]
    out["api_rest"] = round(r["api_requests"] * PRICES["apigw_request"] * 1e6, 3)
    out["api_http"] = round(r["http_api_units"] * HTTP_API * 1e6, 3)
    out["total_rest"] = round((common + r["api_requests"] * PRICES["apigw_request"]) * 1e6, 2)
    out["total_http"] = round((common + r["http_api_units"] * HTTP_API) * 1e6, 2)
    out["write_units"] = round(wu, 2)
    return out


# At the volume issue 23 names (10,000 deliveries a second, sustained: 25.9 billion a month), from
# AWS's published prices (us-east-1): API Gateway's volume tiers per month, and the table in
# provisioned mode with auto scaling at its target utilization (the deploy option
# INFRAI_TABLE_CAPACITY=provisioned, docs/deployment.md). Lambda, SQS and CloudWatch Logs have no
# tier that this volume reaches or that changes these figures by a cent.
MONTH_S = 30 * 86400
VOLUME_PER_S = 10_000
REST_TIERS = ((333e6, 3.50), (667e6, 2.80), (19e9, 2.38), (float("inf"), 1.51))   # per million
HTTP_TIERS = ((300e6, 1.00), (float("inf"), 0.90))
WCU_HOUR, RCU_HOUR = 0.00065, 0.00013     # provisioned capacity, per unit-hour
TARGET_UTILIZATION = 0.70                 # auto scaling's target: capacity paid for but unused


def tiered(requests: float, tiers) -> float:
    """USD per million requests, averaged over a month of `requests` through the tiers."""
    left, cost = requests, 0.0
    for size, price in tiers:
        take = min(left, size)
        cost += take / 1e6 * price
        left -= take
        if left <= 0:
            break
    return cost / (requests / 1e6)


def at_volume(b: dict) -> dict:
    """The bill `b` (bill()) at VOLUME_PER_S deliveries a second: per delivery, storage apart."""
    month = VOLUME_PER_S * MONTH_S
    rest = tiered(month * b["api_requests"], REST_TIERS) * b["api_requests"]
    http_ = tiered(month * b["http_api_units"], HTTP_TIERS) * b["http_api_units"]
    rest_ = b["delivery_rest"] - b["api_rest"]   # everything but the front door, on demand
    provisioned = (b["write_units"] * WCU_HOUR / 3600 / TARGET_UTILIZATION
                   + b["reads"] * RCU_HOUR / 3600 / TARGET_UTILIZATION) * 1e6
    saved = b["dynamodb_writes"] + b["dynamodb_reads"] - provisioned
    return {"on_demand_http": round(rest_ + http_, 2), "on_demand_rest": round(rest_ + rest, 2),
            "provisioned_http": round(rest_ + http_ - saved, 2), "provisioned_rest": round(rest_ + rest - saved, 2),
            "rest_per_m": round(tiered(month * b["api_requests"], REST_TIERS), 3),
            "http_per_m": round(tiered(month * b["http_api_units"], HTTP_TIERS), 3),
            "dynamodb_provisioned": round(provisioned, 3)}


def heat(det_total: dict, deliveries: int) -> list[tuple[str, str]]:
    """Per table/index: partitions written, the hottest one's units per delivery, and the
    ceiling it implies."""
    by_index = defaultdict(dict)
    for k, v in det_total.items():
        if k.startswith("heat:"):
            _, index, part = k.split(":", 2)
            by_index[index][part] = v
    rows = []
    for index, parts in sorted(by_index.items()):
        total = sum(parts.values())
        hot_part, hot = max(parts.items(), key=lambda kv: kv[1])
        per_delivery = hot / deliveries
        shared = index == "gsi3" or hot_part.startswith(("due#", "TIMERS#"))
        ceiling = PARTITION_WU / per_delivery if per_delivery else float("inf")
        label = "deployment" if shared else "project"
        what = re.sub(r"(proj|dlv|msg|cron|key)_[0-9A-Z]{26}", r"<\1>", hot_part)
        rows.append((f"{index}: {len(parts)} partitions written, hottest ({what}) {hot / total:.1%} of its units",
                     f"{per_delivery:.3f} units/delivery there -> ceiling {ceiling:,.0f} deliveries/s per {label}"))
    units = sum(v for k, v in det_total.items() if k in ("wu:table", "wu:index")) / deliveries
    rows.append(("every project together: the table's on-demand quota (40,000 write units/s, adjustable)",
                 f"{units:.2f} units/delivery over this mix -> {TABLE_QUOTA_WU / units:,.0f} deliveries/s; "
                 f"100,000/s needs a quota of {100_000 * units:,.0f} units/s (a Service Quotas request)"))
    return rows


def counted_stack():
    """The local stack and a receiver, with every AWS request counted and the deliver function's
    time measured. The local poller gathers batches as the deployed event source does (up to 10
    messages or its batching window): the requests counted per delivery are those of full
    batches at volume. Returns (stack, receiver, counter, timed, an HTTP session with the key)."""
    from chalicelib import config
    os.environ["INFRAI_LOCAL_BATCH_WINDOW"] = str(config.DELIVER_BATCH_WINDOW_SECONDS)
    stack, receiver = start_stack()
    counter = Counter().install()
    return stack, receiver, counter, Timed(stack._poller), http(stack)


def main():
    stack, receiver, counter, timed, s = counted_stack()
    results = []
    try:
        scale = float(os.environ.get("SCALE_FRACTION", "1"))
        plan = [("webhook, 1 KB", "webhook", SIZES["1 KB"], 200, False),
                ("webhook, 10 KB", "webhook", SIZES["10 KB"], 100, False),
                ("webhook, 1 KB, one retry", "webhook", SIZES["1 KB"], 100, True),
                ("publish, 1 KB", "queue", SIZES["1 KB"], 200, False),
                ("publish, 10 KB", "queue", SIZES["10 KB"], 100, False),
                ("batch of 100, 1 KB", "batch", SIZES["1 KB"], 300, False),
                ("batch of 100, 10 KB", "batch", SIZES["10 KB"], 100, False)]
        # once per process, not per delivery (the queue URL, the first schedules listing): out of the counts
        scenario(stack, s, receiver, counter, timed, "warm-up", "webhook", SIZES["1 KB"], 10, False)
        total0 = counter.detail()
        for name, kind, size, n, retry in plan:
            n = max(100 if kind == "batch" else 1, int(n * scale) // (100 if kind == "batch" else 1) * (100 if kind == "batch" else 1))
            results.append(scenario(stack, s, receiver, counter, timed, name, kind, size, n, retry))
        det_total = _diff(counter.detail(), total0)
        delivered = sum(r["n"] for r in results)
    finally:
        counter.uninstall()
        stack.stop()
        receiver.stop()
    from deploy.log_volume import batch_bytes
    log_per_attempt = (0.99 * batch_bytes(["succeeded"] * 10) + 0.01 * batch_bytes(["succeeded"] * 10, sampled=True)) / 10
    rows, volume = [], []
    for r in results:
        b = bill(r, log_per_attempt, r["stored"])
        d = r["det"]
        idx = ", ".join(f"{k.split(':', 2)[2]} {v:.2f}" for k, v in sorted(d.items()) if k.startswith("wu:index:"))
        reads = ", ".join(f"{k.split(':', 1)[1]} {v:.2f}" for k, v in sorted(d.items()) if k.startswith("ru:"))
        calls = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["per"].items()))
        rows.append((f"{r['name']} (n={r['n']}): write units table + indexes",
                     f"{d.get('wu:table', 0):.2f} + {d.get('wu:index', 0):.2f} = {b['write_units']:.2f} ({idx or 'no index'})"))
        rows.append((f"  $/M per delivery: REST {b['delivery_rest']:.2f}, HTTP API {b['delivery_http']:.2f}; "
                     f"with a month kept: REST {b['total_rest']:.2f}, HTTP API {b['total_http']:.2f}"
                     f" (Lambda at local wall time: {r['lambda_upper']:.2f})", json.dumps(
            {k: v for k, v in b.items() if k in PARTS})))
        v = at_volume(b)
        volume.append((f"{r['name']}: per delivery, on demand / provisioned",
                       f"HTTP API {v['on_demand_http']:.2f} / {v['provisioned_http']:.2f}, "
                       f"REST {v['on_demand_rest']:.2f} / {v['provisioned_rest']:.2f} "
                       f"(DynamoDB provisioned ${v['dynamodb_provisioned']:.2f}; "
                       f"+ a month kept ${b['storage_month']:.2f})"))
        rows.append(("  read units by call; requests per delivery", f"{reads}; {calls}"))
    report("(a) per delivery, each request with an Idempotency-Key (USD per million, us-east-1 list prices)", rows + [
        ("logs per attempt (deploy/log_volume.py, 1 % of invocations sampled)", f"{log_per_attempt:.0f} bytes"),
        *[(f"stored per finished delivery, {r['name']}: item + index entries (median of 50)",
           f"{r['stored']:.0f} bytes, ${r['stored'] / 1e9 * STORAGE_GB_MONTH * 1e6:.3f}/M a month while kept")
          for r in results],
    ])
    report(f"(b) partition heat over the mixed run ({delivered} deliveries, one project)", heat(det_total, delivered))
    month = VOLUME_PER_S * MONTH_S
    report(f"(c) at {VOLUME_PER_S:,} deliveries/s sustained ({month / 1e9:.1f} billion a month): USD per million, "
           "storage apart", [
               ("API Gateway's volume tiers, per request", f"REST {tiered(month, REST_TIERS):.3f}, "
                                                           f"HTTP API {tiered(month, HTTP_TIERS):.3f}"),
               ("DynamoDB provisioned (auto scaling at 70 % utilization), per unit",
                f"write {WCU_HOUR / 3600 / TARGET_UTILIZATION * 1e6:.3f}, read {RCU_HOUR / 3600 / TARGET_UTILIZATION * 1e6:.3f}"
                f" (on demand: 0.625, 0.125)"),
               *volume])
    return results


if __name__ == "__main__":
    main()
