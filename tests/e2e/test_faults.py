"""Faults in the pipeline, on the local stack: random crashes of the deliver function across
1,000 messages, and a poison message. Nothing is lost, nothing is recorded twice."""
import random
import threading
import time

from chalicelib.aws import store
from chalicelib.services.deliver import attempts

Q = "/v1/scheduling/queue"


def test_random_crashes_across_a_thousand_messages_lose_nothing(api, receiver, path, monkeypatch):
    name = "faults" + path.replace("/", "-")
    api.session.put(api.base + f"{Q}/{name}", json={"url": receiver.url(path)}, timeout=30)
    rng, lock = random.Random(8), threading.Lock()
    crashes = {"before_send": 0, "after_send": 0, "record_write": 0}
    crashed: dict = {}    # message id -> how many times it crashed the function itself
    real_send, real_update = attempts._send, store.update

    def roll(kind, message_id):
        with lock:
            if rng.random() < 0.02:
                crashes[kind] += 1
                crashed[message_id] = crashed.get(message_id, 0) + 1
                raise RuntimeError(f"injected crash: {kind}")

    def send(record, *a, **k):
        if path in (record.get("url") or "") or record["kind"] == f"queue:{name}":
            roll("before_send", record["delivery_id"])
            result = real_send(record, *a, **k)
            roll("after_send", record["delivery_id"])
            return result
        return real_send(record, *a, **k)

    def update(pk, sk, sets, **kw):
        if "attempts" in sets and pk.startswith("DLV#msg_"):
            roll("record_write", pk.split("#", 1)[1])
        return real_update(pk, sk, sets, **kw)
    monkeypatch.setattr(attempts, "_send", send)
    monkeypatch.setattr(store, "update", update)
    ids = []
    for b in range(10):
        resp = api.post(f"{Q}/publish-batch", {"messages": [{"queue": name, "payload": {"i": b * 100 + i}}
                                                            for i in range(100)]})
        ids += [r["message_id"] for r in resp.json()["results"]]
    deadline = time.time() + 600    # about 45 s here; only a starved machine needs more
    while {a.headers["webhook-id"] for a in receiver.at(path)} < set(ids) and time.time() < deadline:
        time.sleep(0.5)
    arrivals = receiver.at(path)
    assert sum(crashes.values()) > 10, crashes
    by_id: dict = {}
    for a in arrivals:
        assert a.verified
        by_id.setdefault(a.headers["webhook-id"], []).append(a)
    assert set(by_id) == set(ids), "every message arrived at least once"
    for mid, copies in by_id.items():
        assert len({c.json["i"] for c in copies}) == 1, "a duplicate carries the same webhook-id and body"
    monkeypatch.undo()
    def every_message():
        out, cursor = [], None
        while True:
            page = api.get(f"{Q}/{name}/messages?limit=100" + (f"&cursor={cursor}" if cursor else "")).json()
            out += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return out
    # settled: nothing left on its way (a queue's counts hold what waits for a time, a turn or a
    # retry, not the first attempts handed to SQS: those the list shows, state by state)
    deadline = time.time() + 180
    while time.time() < deadline:
        records = every_message()
        if not any(r["state"] in ("queued", "retrying", "held", "waiting") for r in records):
            break
        time.sleep(0.5)
    counts = api.get(f"{Q}/{name}").json()["counts"]
    assert counts["held"] == counts["queued"] == counts["retrying"] == 0, counts
    assert sorted(r["message_id"] for r in records) == sorted(ids)
    for r in records:
        if r["state"] == "succeeded":
            assert r["attempt_count"] == 1, "an attempt is recorded once, however often it was sent"
        else:   # only a message that crashed the function itself, POISON_CRASHES times, is poison
            assert r["state"] == "failed" and "poison" in r["attempts"][-1]["error"], r
            assert crashed.get(r["message_id"], 0) >= attempts.POISON_CRASHES, (r["message_id"], crashed)
    assert sum(r["state"] == "succeeded" for r in records) >= 990


def test_a_poison_message_is_failed_visibly_and_can_be_replayed(api, receiver, path, monkeypatch):
    from chalicelib.aws import clients, dispatch
    real_send = attempts._send

    def always_crash(record, *a, **k):
        if path in (record.get("url") or ""):
            raise RuntimeError("this message crashes the deliver function every time")
        return real_send(record, *a, **k)
    monkeypatch.setattr(attempts, "_send", always_crash)
    d = api.post("/v1/scheduling/webhook/send", {"url": receiver.url(path), "payload": {"p": 1}}).json()
    record = api.wait_state(d["delivery_id"], {"failed"}, timeout=60)
    assert record["state"] == "failed" and "poison" in record["attempts"][-1]["error"]
    failed = api.get("/v1/scheduling/webhook/deliveries?state=failed&limit=100").json()["items"]
    assert d["delivery_id"] in [i["delivery_id"] for i in failed]
    dlq = clients.sqs().receive_message(QueueUrl=dispatch.dead_letter_queue_url(), MaxNumberOfMessages=10,
                                        VisibilityTimeout=0, WaitTimeSeconds=1).get("Messages", [])
    assert any(d["delivery_id"] in m["Body"] and "poison" in m["Body"] for m in dlq)
    monkeypatch.undo()   # the bug is fixed: replay it
    assert api.post(f"/v1/scheduling/webhook/deliveries/{d['delivery_id']}/retry").status_code == 202
    record = api.wait_state(d["delivery_id"], {"succeeded"})
    assert record["state"] == "succeeded"
    assert len(receiver.at(path)) == 1


def test_a_send_that_dies_between_its_hand_off_and_its_write_is_retried_and_delivered(
        api, receiver, path, monkeypatch):
    """The API function dies right after handing the work to SQS, before storing the webhook
    (work goes first: core/due.HANDOFF_GRACE): the client gets no 2xx; the message finds no
    record and comes back later. The client's retry with the same key stores it, and it arrives,
    every copy with the one webhook-id."""
    real_put = store.put
    died = []

    def put(item, **kw):
        if item.get("sk") == "DLV" and not died:
            died.append(item["delivery_id"])
            raise RuntimeError("the API function died here")
        return real_put(item, **kw)
    monkeypatch.setattr(store, "put", put)
    body = {"url": receiver.url(path), "payload": {"s": 1}, "timeout_seconds": 5}
    first = api.session.post(api.base + "/v1/scheduling/webhook/send", json=body, timeout=30,
                             headers={"Idempotency-Key": "died-once"})
    assert first.status_code >= 500 and died
    monkeypatch.undo()
    d = api.post("/v1/scheduling/webhook/send", body, headers={"Idempotency-Key": "died-once"}).json()
    assert d["delivery_id"] == died[0]
    arrivals = receiver.wait_for(path, 1, timeout=60)
    assert {a.headers["webhook-id"] for a in arrivals} == {d["delivery_id"]} and all(a.verified for a in arrivals)
    assert api.wait_state(d["delivery_id"], {"succeeded"})["state"] == "succeeded"
