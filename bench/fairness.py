"""Issue 22, item 4: fair queues. One project floods a slow endpoint; a few seconds in, another
project sends one webhook to a fast endpoint. Printed: when that webhook arrived, how much of the
flood had arrived by then, whether each flooded message arrived once, and how many SQS messages
carried each (SendMessage / SendMessageBatch entries, counted with a botocore hook).

The issue's size is 3,000 messages to an endpoint answering in 3 s; locally that takes about
15 minutes (the deliver function sends at most 10 at once), so the defaults are smaller:
    BENCH_FLOOD=3000 BENCH_SLOW_SECONDS=3 BENCH=fairness make bench
BENCH_QUIET_AFTER: seconds after the flood's last publish at which the other webhook is sent.
The local poller sees only what its reservoir holds (INFRAI_LOCAL_POLLER_RESERVOIR): unless that
is set, the bench sizes it to hold the whole flood, as SQS itself would see it."""
import collections
import json
import os
import threading
import time

from .common import http, report, start_stack, wait_until

FLOOD = int(os.environ.get("BENCH_FLOOD", "1000"))
SLOW = float(os.environ.get("BENCH_SLOW_SECONDS", "1"))
QUIET_AFTER = float(os.environ.get("BENCH_QUIET_AFTER", "2"))
Q = "/v1/scheduling/queue"


class SqsTally:
    """What went to and came from the dispatch queue, per delivery id (the work's `d`)."""
    def __init__(self, sqs, queue_url):
        self.sqs, self.url, self.lock = sqs, queue_url, threading.Lock()
        self.sent = collections.Counter()       # delivery id -> SQS messages sent for it
        self.not_yet = collections.Counter()    # ... of which copies of work that came before its record
        self.groups = collections.defaultdict(set)
        self.received = collections.Counter()   # delivery id -> times received
        self.requests = collections.Counter()

    def _d(self, body):
        try:
            return json.loads(body).get("d")
        except (ValueError, AttributeError):
            return None

    def _provide(self, params, model, **_):
        if params.get("QueueUrl") != self.url:
            return
        entries = params.get("Entries") if model.name == "SendMessageBatch" else [params]
        with self.lock:
            self.requests[model.name] += 1
            for e in entries:
                d = self._d(e.get("MessageBody"))
                if d:
                    self.sent[d] += 1
                    self.not_yet[d] += "t" in json.loads(e["MessageBody"])
                    self.groups[d].add(e.get("MessageGroupId"))

    def _mark(self, params, context, **_):
        context["bench_fair_queue"] = params.get("QueueUrl")

    def _after_receive(self, parsed, model, context=None, **_):
        if (context or {}).get("bench_fair_queue") != self.url:
            return
        with self.lock:
            self.requests[model.name] += 1
            for m in (parsed or {}).get("Messages", []):
                d = self._d(m.get("Body"))
                if d:
                    self.received[d] += 1

    def install(self):
        ev = self.sqs.meta.events
        ev.register("provide-client-params.sqs.SendMessage", self._provide, unique_id="bench-fair-1")
        ev.register("provide-client-params.sqs.SendMessageBatch", self._provide, unique_id="bench-fair-2")
        ev.register("provide-client-params.sqs.ReceiveMessage", self._mark, unique_id="bench-fair-4")
        ev.register("after-call.sqs.ReceiveMessage", self._after_receive, unique_id="bench-fair-3")
        return self

    def uninstall(self):
        ev = self.sqs.meta.events
        ev.unregister("provide-client-params.sqs.SendMessage", unique_id="bench-fair-1")
        ev.unregister("provide-client-params.sqs.SendMessageBatch", unique_id="bench-fair-2")
        ev.unregister("provide-client-params.sqs.ReceiveMessage", unique_id="bench-fair-4")
        ev.unregister("after-call.sqs.ReceiveMessage", unique_id="bench-fair-3")


def run(stack, receiver):
    import requests
    from chalicelib.aws import clients, dispatch
    from chalicelib.services.tenancy import projects
    from tests.receiver import Receiver

    tally = SqsTally(clients.sqs(), dispatch.dispatch_queue_url()).install()
    quiet = projects.create_project(plan="unlimited")
    quiet_receiver = Receiver()
    quiet_receiver.secret = projects.current_secret(quiet["project_id"])
    poller = stack._poller
    held_max = [0]
    sampling = threading.Event()

    def sample():
        while not sampling.wait(0.1):
            held_max[0] = max(held_max[0], poller.holding())
    threading.Thread(target=sample, daemon=True).start()
    try:
        s = http(stack)
        path, name = "/bench-flood", "bench-flood"
        receiver.script(path, [("sleep", SLOW)])
        assert s.put(stack.base_url + f"{Q}/{name}", json={"url": receiver.url(path)}, timeout=30).ok
        ids, t0 = [], time.time()
        for start in range(0, FLOOD, 100):
            r = s.post(stack.base_url + f"{Q}/publish-batch", timeout=120, json={"messages": [
                {"queue": name, "payload": {"i": i}} for i in range(start, min(FLOOD, start + 100))]})
            assert r.status_code == 202, r.text
            ids += [x["message_id"] for x in r.json()["results"]]
        published = time.time() - t0
        wait_until(lambda: receiver.at(path), 60)
        first = min(a.at for a in receiver.at(path))
        time.sleep(QUIET_AFTER)     # the whole flood is in SQS, ahead of what comes next

        with requests.Session() as qs:
            qs.headers["Authorization"] = f"Bearer {quiet['api_key']}"
            sent = time.time()
            r = qs.post(stack.base_url + "/v1/scheduling/webhook/send", timeout=30,
                        json={"url": quiet_receiver.url("/quiet"), "payload": {"hello": "quiet"}})
        accepted = time.time()
        assert r.status_code == 202, r.text
        quiet_id = r.json()["delivery_id"]
        arrived_before_send = sum(a.at <= sent for a in receiver.at(path))
        [q] = quiet_receiver.wait_for("/quiet", 1, timeout=FLOOD * SLOW + 120)
        handed = [t for t, g in list(poller.handed_out) if g == quiet["project_id"] and t >= sent]
        flood_by_then = sum(a.at <= q.at for a in receiver.at(path))

        wanted = set(ids)
        wait_until(lambda: {a.headers["webhook-id"] for a in receiver.at(path)} >= wanted,
                   FLOOD * SLOW / 2 + 300, step=0.5)
        time.sleep(2)   # a late duplicate would come now
        arrivals = receiver.at(path)
        drained = max(a.at for a in arrivals)
        per_id = collections.Counter(a.headers["webhook-id"] for a in arrivals)
        rate = len(arrivals) / max(1e-9, drained - first)
        return {
            "published": published, "flood_seconds": drained - first, "rate": rate,
            "sent_at": sent - first, "latency": q.at - sent, "verified": q.verified,
            "accepted": accepted - sent, "handed": [t - sent for t in handed],
            "flood_before_send": arrived_before_send, "flood_by_then": flood_by_then,
            "plain_order_wait": (FLOOD - arrived_before_send) / rate,
            "arrived_ids": len(set(per_id) & wanted),
            "per_id": collections.Counter(per_id[i] for i in wanted),
            "extra_ids": len(set(per_id) - wanted),
            "sqs_sent": collections.Counter(tally.sent[i] for i in wanted),
            "sqs_not_yet": sum(tally.not_yet[i] for i in wanted),
            "sqs_received": collections.Counter(tally.received[i] for i in wanted),
            "groups": {g for i in wanted for g in tally.groups[i]},
            "quiet_sent": tally.sent[quiet_id], "quiet_not_yet": tally.not_yet[quiet_id],
            "quiet_groups": tally.groups[quiet_id],
            "project": stack.project_id, "quiet_project": quiet["project_id"],
            "requests": dict(tally.requests), "held_max": held_max[0], "extended": poller.extended,
            "reservoir": poller.reservoir, "workers": poller.workers,
        }
    finally:
        sampling.set()
        tally.uninstall()
        quiet_receiver.stop()


def _dist(counter):
    return ", ".join(f"{n}x: {c}" for n, c in sorted(counter.items()))


def main():
    own_reservoir = not os.environ.get("INFRAI_LOCAL_POLLER_RESERVOIR")
    if own_reservoir:
        os.environ["INFRAI_LOCAL_POLLER_RESERVOIR"] = str(max(1000, FLOOD + 100))
    try:
        stack, receiver = start_stack()
    finally:
        if own_reservoir:     # the stack's poller has read it; later suites get the default
            os.environ.pop("INFRAI_LOCAL_POLLER_RESERVOIR")
    try:
        r = run(stack, receiver)
    finally:
        stack.stop()
        receiver.stop()
    sent_per = sum(n * c for n, c in r["sqs_sent"].items()) / FLOOD
    report(f"fair queues: {FLOOD} messages to an endpoint answering in {SLOW:g} s, then one webhook "
           "of another project", [
        ("local poller: workers x batch / reservoir", f"{r['workers']} x 10 / {r['reservoir']}"),
        ("flood published (publish-batch of 100)", f"{r['published']:.1f} s"),
        ("flood: first to last arrival / arrivals per second",
         f"{r['flood_seconds']:.1f} s / {r['rate']:.1f} /s"),
        ("other project's webhook sent (after the flood's last publish), s after its first arrival",
         f"{r['sent_at']:.1f} s"),
        ("flooded messages arrived before it was sent", f"{r['flood_before_send']} of {FLOOD}"),
        ("its send answered 202 / handed to the deliver function, s after it was sent",
         f"{r['accepted']:.2f} s / " + ", ".join(f"{t:.2f} s" for t in r["handed"])),
        ("SQS messages sent for it / of which 'not yet' copies", f"{r['quiet_sent']} / {r['quiet_not_yet']}"),
        ("it arrived, s after it was sent (signature verified)",
         f"{r['latency']:.2f} s ({'yes' if r['verified'] else 'NO'})"),
        ("flooded messages arrived by then", f"{r['flood_by_then']} of {FLOOD}"),
        ("in plain order it would have waited about (rest of flood / rate)",
         f"{r['plain_order_wait']:.0f} s"),
        ("flood: webhook-ids arrived / arrivals per webhook-id",
         f"{r['arrived_ids']} of {FLOOD} / {_dist(r['per_id'])}" + (
             f" (+{r['extra_ids']} unknown ids)" if r["extra_ids"] else "")),
        ("SQS messages sent per flooded message (SendMessage[Batch] entries)",
         f"{sent_per:.2f} ({_dist(r['sqs_sent'])})"),
        ("  of which hand-offs (publish) / 'not yet' copies (work before its record)",
         f"{(sum(n * c for n, c in r['sqs_sent'].items()) - r['sqs_not_yet']) / FLOOD:.2f} / "
         f"{r['sqs_not_yet'] / FLOOD:.2f}"),
        ("times each flooded message was received from SQS", _dist(r["sqs_received"])),
        ("MessageGroupId of the flood / of the other webhook",
         f"{'its project' if r['groups'] == {r['project']} else r['groups']} / "
         f"{'its project' if r['quiet_groups'] == {r['quiet_project']} else r['quiet_groups']}"),
        ("reservoir: most held at once / visibility extensions", f"{r['held_max']} / {r['extended']}"),
        ("dispatch queue requests (send / batch / receive)",
         " / ".join(str(r["requests"].get(k, 0)) for k in ("SendMessage", "SendMessageBatch", "ReceiveMessage"))),
    ])
