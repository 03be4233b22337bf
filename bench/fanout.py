"""BENCH=fanout: what one publish to a topic with N subscriptions costs, against N single
publishes to a queue, measured in one run through the local stack (issue 25).

A topic's subscription is a queue underneath (docs/topics.md), and a publish writes its
deliveries through the batch path, 100 at a time: each delivery costs what a batched message
costs, plus its share of the publish (the request, reading the topic's subscriptions, the
idempotency record). Each scenario here publishes with an Idempotency-Key to subscriptions that
all match, to a real receiver, waits for every delivery to arrive, and prices what the counter
saw (bench/scale.py's bill: AWS list prices, the packaged functions' memory, a month of storage).
The local poller batches as the deployed event source does (bench/scale.py)."""
import json
import os
import sys
import time
import uuid

from .common import report, wait_until
from .scale import SIZES, _diff, bill, counted_stack, payload, scenario, stored_bytes

PLAN = [tuple(int(x) for x in p.split("x")) for p in
        os.environ.get("FANOUT_PLAN", "10x20,100x3,1000x1").split(",")]   # subscriptions x publishes


def topic_scenario(stack, s, receiver, counter, timed, subs: int, publishes: int) -> dict:
    name = f"fan-{uuid.uuid4().hex[:8]}"
    path = "/" + name
    base = stack.base_url + "/v1/scheduling"
    assert s.put(f"{base}/topics/{name}", json={"description": "bench"}, timeout=30).status_code in (200, 201)
    for i in range(subs):
        r = s.post(f"{base}/topics/{name}/subscriptions", json={"url": receiver.url(path)},
                   headers={"Idempotency-Key": uuid.uuid4().hex}, timeout=30)
        assert r.status_code == 201, r.text[:300]
    calls0, det0, t0, m0 = dict(counter.calls), counter.detail(), timed.seconds, timed.messages
    made, latencies, request_bytes = [], [], []
    for p in range(publishes):
        body = {"event_type": "order.paid", "payload": payload(SIZES["1 KB"], p)}
        request_bytes.append(len(json.dumps(body)))
        t = time.perf_counter()
        r = s.post(f"{base}/topics/{name}/publish", json=body, headers={"Idempotency-Key": uuid.uuid4().hex},
                   timeout=300)
        latencies.append(time.perf_counter() - t)
        assert r.status_code == 202 and r.json()["matched"] == subs, (r.status_code, r.text[:300])
        made += [d["delivery_id"] for d in r.json()["deliveries"]]
    n = subs * publishes
    print(f"  topic with {subs} subscriptions: {publishes} publishes accepted, waiting for {n} arrivals",
          file=sys.stderr, flush=True)
    assert wait_until(lambda: len(receiver.at(path)) >= n, 900), (subs, len(receiver.at(path)))
    time.sleep(1)
    arrived = receiver.at(path)
    ids = [a.headers["webhook-id"] for a in arrived]
    assert len(ids) == n and len(set(ids)) == n, f"{len(ids)} arrivals, {len(set(ids))} distinct: each once"
    counter.settle()
    calls = _diff(dict(counter.calls), calls0)
    det = _diff(counter.detail(), det0)
    return {"name": f"topic, {subs} subscriptions", "n": n, "per": {k: v / n for k, v in calls.items()},
            "det": {k: v / n for k, v in det.items()}, "api_requests": publishes / n,
            "http_api_units": publishes / n, "api_s": sum(latencies) / n,
            "deliver_s": (timed.seconds - t0) / max(1, timed.messages - m0),
            "sqs": sum(v / n for k, v in calls.items() if k.startswith("sqs:")), "attempts": 1,
            "stored": stored_bytes(made[:50]), "publish_s": sorted(latencies)[len(latencies) // 2], "subs": subs}


def main():
    stack, receiver, counter, timed, s = counted_stack()
    try:
        scenario(stack, s, receiver, counter, timed, "warm-up", "webhook", SIZES["1 KB"], 10, False)
        single = scenario(stack, s, receiver, counter, timed, "publish, 1 KB", "queue", SIZES["1 KB"], 100, False)
        fans = [topic_scenario(stack, s, receiver, counter, timed, subs, pubs) for subs, pubs in PLAN]
    finally:
        counter.uninstall()
        stack.stop()
        receiver.stop()
    from deploy.log_volume import batch_bytes
    log_per_attempt = (0.99 * batch_bytes(["succeeded"] * 10) + 0.01 * batch_bytes(["succeeded"] * 10, sampled=True)) / 10
    one = bill(single, log_per_attempt, single["stored"])
    rows = [("one queue publish (1 KB): write units; USD per million deliveries, HTTP API / REST",
             f"{one['write_units']:.2f}; ${one['total_http']:.2f} / ${one['total_rest']:.2f}")]
    for r in fans:
        b = bill(r, log_per_attempt, r["stored"])
        subs = r["subs"]
        rows.append((f"{r['name']}: write units per delivery; $/M deliveries HTTP API / REST",
                     f"{b['write_units']:.2f}; ${b['total_http']:.2f} / ${b['total_rest']:.2f} "
                     f"({b['total_http'] / one['total_http']:.2f}x one queue publish's on the HTTP API)"))
        rows.append((f"  a publish to {subs}: its cost against {subs} single publishes (HTTP API); "
                     f"the publish request's median time here",
                     f"${b['total_http'] * subs / 1e6:.6f} vs ${one['total_http'] * subs / 1e6:.6f} "
                     f"({b['total_http'] / one['total_http']:.2f}x); {r['publish_s']:.2f} s"))
        reads = ", ".join(f"{k.split(':', 1)[1]} {v:.2f}" for k, v in sorted(r["det"].items()) if k.startswith("ru:"))
        writes = ", ".join(f"{k.split(':', 1)[1]} {v:.2f}" for k, v in sorted(r["det"].items())
                           if k.startswith("wu:") and not k.startswith("wu:index:"))
        idx = ", ".join(f"{k.split(':', 2)[2]} {v:.2f}" for k, v in sorted(r["det"].items()) if k.startswith("wu:index:"))
        rows.append(("  read units by call; write units (indexes)", f"{reads or 'none'}; {writes} ({idx or 'none'})"))
    report("(a) fan-out: one publish to N subscriptions against N single publishes (each delivered once, "
           "USD per million deliveries, us-east-1 list prices)", rows)
    return fans


if __name__ == "__main__":
    main()
