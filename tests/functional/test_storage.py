"""Issue 23's storage, seen from outside: a delivery's record writes one list entry and expires
after its project's retention; large payloads are kept compressed and sent byte for byte; the
one list merges its shards in order, page after page, whatever shard a delivery landed in."""
import json
import threading
import time

import pytest

from chalicelib import config
from chalicelib.aws import clients, dispatch, keys, store
from chalicelib.core import clock
from chalicelib.services.deliver import attempts
from chalicelib.services.delivery import deliveries, delivery_index, delivery_list, keyed, payloads
from chalicelib.services.queues import messages

from .conftest import drain

LIST = "/v1/scheduling/deliveries"
SEND = "/v1/scheduling/webhook/send"


def big_payload(n_items=300):
    return {"type": "order.paid", "items": [{"sku": f"SKU-{i:05d}", "qty": i % 5 + 1} for i in range(n_items)]}


def test_a_large_payload_is_kept_compressed_and_arrives_byte_for_byte(api, receiver):
    payload = big_payload()
    sent = api.call("POST", SEND, {"url": receiver.url("/big"), "payload": payload}).data
    raw = store.get(*keys.delivery(sent["delivery_id"]))
    kept = store.get(*keys.payload(sent["delivery_id"])) if raw.get("pref") else raw   # over 600 bytes even so: its own item
    assert "payload" not in kept and len(bytes(getattr(kept["pz"], "value", kept["pz"]))) < len(json.dumps(payload)) / 3
    drain()
    [got] = receiver.at("/big")
    assert got.verified and got.json == payload
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}").data["payload"] == payload


def test_a_small_payload_stays_as_sent(api, receiver):
    sent = api.call("POST", SEND, {"url": receiver.url("/small"), "payload": {"a": 1}}).data
    assert store.get(*keys.delivery(sent["delivery_id"]))["payload"] == '{"a":1}'


def test_a_first_try_success_holds_one_list_entry_and_expires_after_the_projects_retention(api, receiver, offset):
    sent = api.call("POST", SEND, {"url": receiver.url("/ok"), "payload": {"a": 1}}).data
    drain()
    raw = store.get(*keys.delivery(sent["delivery_id"]))
    assert raw["state"] == "succeeded"
    assert "ix_all" in raw and not any(k in raw for k in ("ix_state", "ix_status", "gsi1pk", "gsi2pk", "gsi3pk"))
    assert raw["keep"] == [30, 90] and abs(raw["ttl"] - (clock.now() + 30 * 86400)) < 60
    offset[0] = 29 * 86400
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}").status_code == 200
    offset[0] = 30 * 86400 + 60   # DynamoDB has not deleted it yet (moto never does): reads hide it
    assert store.get(*keys.delivery(sent["delivery_id"])) is not None
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}").status_code == 404
    assert api.call("GET", LIST).data["items"] == []


def test_a_failed_delivery_is_kept_longer_and_loses_its_expiry_when_replayed(api, receiver, offset):
    receiver.script("/bad", [500, 200])
    sent = api.call("POST", SEND, {"url": receiver.url("/bad"), "payload": {}, "retries": 0}).data
    drain()
    raw = store.get(*keys.delivery(sent["delivery_id"]))
    assert raw["state"] == "failed" and abs(raw["ttl"] - (clock.now() + 90 * 86400)) < 60
    assert raw["ix_state"].startswith(f"{raw['project_id']}#failed#") and raw["ix_status"].startswith(f"{raw['project_id']}#500#")
    offset[0] = 60 * 86400
    assert api.call("POST", f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}/retry").status_code in (200, 202)
    assert "ttl" not in store.get(*keys.delivery(sent["delivery_id"]))
    drain()
    done = store.get(*keys.delivery(sent["delivery_id"]))
    assert done["state"] == "succeeded" and "ix_state" not in done and "ix_status" not in done
    assert abs(done["ttl"] - (clock.now() + 30 * 86400)) < 60


@pytest.fixture
def many(api, project):
    """At least 120 deliveries, made in order (through the code a send runs, past the trial plan's
    request rate), and as many more as it takes for every shard to hold some (ids are random:
    120 miss a shard about one time in 25)."""
    made, shards = [], set()
    while len(made) < 120 or len(shards) < delivery_index.LIST_SHARDS:
        assert len(made) < 1000, "ids this unevenly spread over the shards: shard_of is broken"
        record = deliveries.new_record(project["project_id"], kind="webhook", url="https://elsewhere.example.com/h",
                                       payload=json.dumps({"i": len(made)}), retries=0, timeout_seconds=5)
        made.append(deliveries.submit(record)["delivery_id"])
        shards.add(delivery_index.shard_of(made[-1]))
    clients.sqs().purge_queue(QueueUrl=dispatch.dispatch_queue_url())
    return made


def test_the_list_merges_every_shard_newest_first_page_after_page(api, many):
    pid = store.get(*keys.delivery(many[0]))["project_id"]
    assert len({delivery_index.shard_of(d) for d in many}) == delivery_index.LIST_SHARDS
    for limit in (1, 7, 50, 100):
        seen, cursor = [], None
        while True:
            resp = api.call("GET", f"{LIST}?limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
            assert resp.status_code == 200 and len(resp.data["items"]) <= limit
            seen += [d["delivery_id"] for d in resp.data["items"]]
            cursor = resp.data["next_cursor"]
            if not cursor:
                break
        assert seen == list(reversed(many)), limit
    oldest, _ = delivery_list.page(pid, {}, limit=len(many), cursor=None, newest_first=False)
    assert [r["delivery_id"] for r in oldest] == many


def test_a_later_page_reads_no_more_than_the_first(api, many):
    """The cursor is a position in time: page n asks each shard for what lies beyond it."""
    ddb = clients.dynamodb()
    real = ddb.query
    scanned = []

    def query(**kw):
        resp = real(**kw)
        scanned.append(resp.get("ScannedCount", 0))
        return resp
    ddb.query = query
    try:
        first = api.call("GET", f"{LIST}?limit=10")
        first_cost = sum(scanned)
        cursor, pages = first.data["next_cursor"], 1
        while pages < 10:
            scanned.clear()
            resp = api.call("GET", f"{LIST}?limit=10&cursor={cursor}")
            cursor, pages = resp.data["next_cursor"], pages + 1
        assert sum(scanned) <= 2 * first_cost, (sum(scanned), first_cost)
    finally:
        ddb.query = real


def test_the_old_unsharded_partition_is_still_listed(api, receiver):
    """A record written before issue 23 (ix_all = the project alone) shows in the list."""
    sent = api.call("POST", SEND, {"url": "https://elsewhere.example.com/h", "payload": {}}).data
    raw = store.get(*keys.delivery(sent["delivery_id"]))
    store.update(raw["pk"], raw["sk"], {"ix_all": raw["project_id"]})
    later = api.call("POST", SEND, {"url": "https://elsewhere.example.com/h", "payload": {}}).data
    assert [d["delivery_id"] for d in api.call("GET", LIST).data["items"]] == [later["delivery_id"], sent["delivery_id"]]


# -- idempotency without records of its own (keyed.find) ---------------------------------

def idem_items():
    return clients.dynamodb().scan(TableName=config.idempotency_table_name()).get("Items", [])


def test_a_keyed_send_writes_no_idempotency_record_and_its_retry_gets_the_first_answer(api, receiver, offset):
    body = {"url": receiver.url("/k"), "payload": {"a": 1}}
    first = api.call("POST", SEND, body, headers={"Idempotency-Key": "order-7"})
    assert first.status_code == 202 and idem_items() == []
    assert not any(i["pk"]["S"].startswith("IDS#") for i in clients.dynamodb().scan(TableName=config.table_name())["Items"])
    drain()
    assert store.get(*keys.delivery(first.data["delivery_id"]))["state"] == "succeeded"
    again = api.call("POST", SEND, body, headers={"Idempotency-Key": "order-7"})
    assert again.status_code == 202 and again.data == first.data    # as answered then, not as it is now
    assert len(receiver.at("/k")) == 1
    other = api.call("POST", SEND, {**body, "payload": {"a": 2}}, headers={"Idempotency-Key": "order-7"})
    assert other.status_code == 422 and other.data["error"]["code"] == "idempotency_key_reused"
    offset[0] = 23 * 3600     # within 24 h, whatever day boundary lies between: the same delivery
    assert api.call("POST", SEND, body, headers={"Idempotency-Key": "order-7"}).data == first.data
    offset[0] = 48 * 3600 + 60    # kept 24 to 48 h (keyed.py): after 48 h the key makes a new delivery
    later = api.call("POST", SEND, body, headers={"Idempotency-Key": "order-7"})
    assert later.status_code == 202 and later.data["delivery_id"] != first.data["delivery_id"]


def test_a_keyed_twin_that_races_the_first_loses_the_put_and_answers_with_its_delivery(api, receiver, monkeypatch):
    body = {"queue": "twins", "payload": {"n": 1}}
    api.call("PUT", "/v1/scheduling/queue/twins", {"url": receiver.url("/t")})
    first = api.call("POST", "/v1/scheduling/queue/publish", body, headers={"Idempotency-Key": "twin-1"})
    real = keyed.find
    monkeypatch.setattr(keyed, "find", lambda *a: (None, *real(*a)[1:]))   # it read before the first wrote
    twin = api.call("POST", "/v1/scheduling/queue/publish", body, headers={"Idempotency-Key": "twin-1"})
    assert twin.status_code == 202 and twin.data == first.data
    drain()
    assert len(receiver.at("/t")) == 1      # the twin's hand-off found a record not its own: dropped


# -- a batch's messages share one list entry per queue -------------------------------------------------

def test_a_batch_writes_one_list_entry_per_queue_and_the_list_opens_it_in_order(api, project, receiver):
    pid = project["project_id"]
    for q in ("b1", "b2", "b3"):
        api.call("PUT", f"/v1/scheduling/queue/{q}", {"url": receiver.url(f"/{q}"), "retries": 0})
    receiver.script("/b2", [500, 200, 200])
    before = api.call("POST", SEND, {"url": "https://elsewhere.example.com/h", "payload": {}}).data["delivery_id"]
    msgs = [{"queue": q, "payload": {"i": i}} for i, q in enumerate(["b1"] * 5 + ["b2"] * 3 + ["b3"])]
    res = api.call("POST", "/v1/scheduling/queue/publish-batch", {"messages": msgs}).data
    made = [r["message_id"] for r in res["results"]]
    after = api.call("POST", SEND, {"url": "https://elsewhere.example.com/h", "payload": {}}).data["delivery_id"]
    ddb_items = clients.dynamodb().scan(TableName=config.table_name())["Items"]
    entries = [i for i in ddb_items if i["pk"]["S"].startswith("LST#")]
    assert len(entries) == 2 and sorted(len(e["ids"]["L"]) for e in entries) == [3, 5]
    listed = [store.get(*keys.delivery(m)) for m in made]
    assert [("ix_all" in r, "lst" in r) for r in listed] == [(False, True)] * 8 + [(True, False)]
    drain()
    newest_first = [after, *reversed(made), before]
    for limit in (1, 2, 4, 100):   # cursors fall inside the batch's entries
        seen, cursor = [], None
        while True:
            resp = api.call("GET", f"{LIST}?limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
            seen += [d["delivery_id"] for d in resp.data["items"]]
            cursor = resp.data["next_cursor"]
            if not cursor:
                break
        assert seen == newest_first, limit
    cursor, seen = None, []
    while True:
        page, cursor = delivery_list.page(pid, {}, limit=3, cursor=cursor, newest_first=False)
        seen += [r["delivery_id"] for r in page]
        if not cursor:
            break
    assert seen == list(reversed(newest_first))
    assert [d["message_id"] for d in api.call("GET", "/v1/scheduling/queue/b2/messages").data["items"]] == made[5:8][::-1]
    assert [d["delivery_id"] for d in api.call("GET", f"{LIST}?queue=b1&limit=2").data["items"]] == made[4:2:-1]
    failed = api.call("GET", f"{LIST}?state=failed").data["items"]   # the one of b2's that got the 500
    assert len(failed) == 1 and failed[0]["delivery_id"] in made[5:8] and failed[0]["queue"] == "b2"
    assert [d["delivery_id"] for d in api.call("GET", f"{LIST}?state=succeeded&kind=queue").data["items"]] == \
        [m for m in reversed(made) if m != failed[0]["delivery_id"]]


def test_an_incompressible_payload_is_written_once_in_its_own_item(api, receiver):
    import base64
    import os
    blob = base64.b64encode(os.urandom(6000)).decode()       # 8 KB that zlib shrinks by a quarter at best
    sent = api.call("POST", SEND, {"url": receiver.url("/blob"), "payload": {"blob": blob}}).data
    record = store.get(*keys.delivery(sent["delivery_id"]))
    item = store.get(*keys.payload(sent["delivery_id"]))
    assert record["pref"] == 1 and "payload" not in record and "pz" not in record
    assert len(json.dumps(record, default=str)) < 1024 and item["project_id"] == record["project_id"]
    assert json.loads(payloads.text(record)) == {"blob": blob}
    assert item["ttl"] > clock.now() + 90 * 86400
    drain()
    [got] = receiver.at("/blob")
    assert got.verified and got.json == {"blob": blob}
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}").data["payload"] == {"blob": blob}
    msgs = [{"queue": "blobs", "payload": {"blob": blob, "i": i}} for i in range(3)]
    api.call("PUT", "/v1/scheduling/queue/blobs", {"url": receiver.url("/blobs")})
    made = [r["message_id"] for r in api.call("POST", "/v1/scheduling/queue/publish-batch", {"messages": msgs}).data["results"]]
    assert all(store.get(*keys.payload(m)) for m in made)
    drain()
    assert sorted(a.json["i"] for a in receiver.at("/blobs")) == [0, 1, 2]


def test_a_batch_answer_is_kept_compressed_and_a_retry_gets_it_back_whole(api, receiver):
    """The idempotency layer keeps a keyed request's answer for 24 h; a batch's 100 results
    (about 17 KB, as many write units) are kept compressed, and read back exactly."""
    api.call("PUT", "/v1/scheduling/queue/kept", {"url": receiver.url("/kept")})
    body = {"messages": [{"queue": "kept", "payload": {"i": i}} for i in range(100)],
            "idempotency_key": "batch-kept-1"}
    first = api.call("POST", "/v1/scheduling/queue/publish-batch", body)
    again = api.call("POST", "/v1/scheduling/queue/publish-batch", body)
    assert first.status_code == again.status_code == 202 and first.data == again.data
    assert first.data["accepted"] == 100 and len({r["message_id"] for r in first.data["results"]}) == 100
    items = clients.dynamodb().scan(TableName=config.idempotency_table_name())["Items"]
    [kept] = [i for i in items if "publish-batch" in i["id"]["S"] and "data" in i]
    assert len(kept["data"]["S"]) < len(json.dumps(first.data)) / 3, "kept compressed"


# -- a finished record keeps only what cannot be derived ------------------------------------------------

def test_a_finished_record_stores_nothing_empty_zero_or_derivable_and_reads_the_same(api, receiver):
    payload = {"type": "order.paid", "items": [{"sku": f"SKU-{i * 7919 % 100000:05d}", "qty": i % 5 + 1} for i in range(32)]}
    api.call("PUT", "/v1/scheduling/queue/slim", {"url": receiver.url("/q")})
    sent = api.call("POST", SEND, {"url": receiver.url("/w"), "payload": payload}, headers={"Idempotency-Key": "slim-1"}).data
    msg = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "slim", "payload": payload}).data
    drain()
    [w], [q] = receiver.at("/w"), receiver.at("/q")
    assert w.verified and w.json == payload and "infrai-queue" not in w.headers
    assert q.verified and q.json == payload and q.headers["infrai-queue"] == "slim"
    hook, message = (store.get(*keys.delivery(i)) for i in (sent["delivery_id"], msg["message_id"]))
    assert hook["state"] == message["state"] == "succeeded"
    for raw in (hook, message):
        # (its first-work token, `hand`, stays: a losing twin's hand-off is dropped by it whenever it comes)
        assert not {"headers", "meta_headers", "crashes", "repairs", "deliver_at"} & set(raw), sorted(raw)
    assert "source" not in hook and message["source"] == {"queue": "slim"}
    assert "gsi2sk" not in hook and "gsi2sk" not in message   # a succeeded message is never in gsi2 again
    shown = api.call("GET", f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}").data
    assert shown["deliver_at"] == shown["created_at"] and shown["payload"] == payload
    assert shown["headers"] == {"content-type": "application/json", "user-agent": "infrai-scheduling/1.0",
                                "webhook-id": sent["delivery_id"]}
    got = api.call("GET", f"/v1/scheduling/queue/messages/{msg['message_id']}").data
    assert got["deliver_at"] == got["created_at"]
    shown = api.call("GET", f"/v1/scheduling/webhook/deliveries/{msg['message_id']}").data   # any delivery, with its content
    assert shown["payload"] == payload and shown["headers"] == {
        "infrai-queue": "slim", "content-type": "application/json", "user-agent": "infrai-scheduling/1.0",
        "webhook-id": msg["message_id"]}
    listed = {d["delivery_id"]: d for d in api.call("GET", LIST).data["items"]}
    assert all(listed[i]["deliver_at"] == listed[i]["created_at"] for i in (sent["delivery_id"], msg["message_id"]))
    later = api.call("POST", SEND, {"url": receiver.url("/w"), "payload": {}, "delay_seconds": 60}).data
    assert store.get(*keys.delivery(later["delivery_id"]))["deliver_at"] > clock.now() + 50   # a delay is kept
    assert later["deliver_at"] > later["created_at"]


# -- a batch's first attempts wait for its one "written" marker -----------------------------------

def _publish_ten(api, receiver, name):
    api.call("PUT", f"/v1/scheduling/queue/{name}", {"url": receiver.url(f"/{name}")})
    res = api.call("POST", "/v1/scheduling/queue/publish-batch",
                   {"messages": [{"queue": name, "payload": {"i": i}} for i in range(10)]})
    assert res.status_code == 202, res.data
    return [r["message_id"] for r in res.data["results"]]


def test_a_batchs_attempts_that_arrive_before_its_records_wait_for_its_marker_and_read_each_record_once(
        api, receiver, monkeypatch):
    real_put_many, real_get_many = store.put_many, store.get_many
    record_reads, early = [], {}

    def counted_get_many(pairs, consistent=True):
        record_reads.extend(pk for pk, _ in pairs if pk.startswith("DLV#"))
        return real_get_many(pairs, consistent)

    def put_many_while_delivering(items):   # the deliver function gets the hand-offs before the writes
        if "t" not in early and any(i["pk"].startswith("DLV#") for i in items):
            early["t"] = threading.Thread(target=lambda: early.setdefault("handled", drain(rounds=1)))
            early["t"].start()
            time.sleep(0.15)
        real_put_many(items)

    monkeypatch.setattr(attempts.store, "get_many", counted_get_many)
    monkeypatch.setattr(store, "put_many", put_many_while_delivering)
    made = _publish_ten(api, receiver, "early")
    early["t"].join()
    assert early["handled"] == 10                   # handled in that first round: none put back to wait
    assert sorted(r.json["i"] for r in receiver.at("/early")) == list(range(10))
    assert all(r.verified for r in receiver.at("/early"))
    assert sorted(record_reads) == sorted(f"DLV#{m}" for m in made)   # each record read once, after the marker


def test_a_batch_whose_marker_never_came_is_delivered_all_the_same(api, receiver, monkeypatch):
    monkeypatch.setattr(messages, "_mark_written", lambda marker: None)   # the publisher died just before it
    _publish_ten(api, receiver, "unmarked")
    drain()
    assert sorted(r.json["i"] for r in receiver.at("/unmarked")) == list(range(10))


def test_every_key_finds_its_delivery_for_24_hours_wherever_its_window_starts(api, receiver, offset):
    body = {"url": receiver.url("/w"), "payload": {"a": 1}}
    for k in range(8):   # keys whose windows start at times of their own
        key = f"window-{k}"
        offset[0] = k * 6 * 3600.0
        first = api.call("POST", SEND, body, headers={"Idempotency-Key": key}).data["delivery_id"]
        for later in (1, 12 * 3600, 24 * 3600 - 60):
            offset[0] = k * 6 * 3600.0 + later
            assert api.call("POST", SEND, body, headers={"Idempotency-Key": key}).data["delivery_id"] == first, (k, later)
        offset[0] = k * 6 * 3600.0 + 48 * 3600 + 60
        assert api.call("POST", SEND, body, headers={"Idempotency-Key": key}).data["delivery_id"] != first, k


def test_a_keyed_retry_with_another_large_body_never_changes_the_deliverys_payload(api, receiver):
    first_body = {"url": receiver.url("/big-key"), "payload": big_payload()}
    first = api.call("POST", SEND, first_body, headers={"Idempotency-Key": "big-1"})
    assert first.status_code == 202
    assert store.get(*keys.delivery(first.data["delivery_id"])).get("pref")   # its payload has its own item
    other = api.call("POST", SEND, {**first_body, "payload": {**big_payload(), "type": "order.refunded"}},
                     headers={"Idempotency-Key": "big-1"})
    assert other.status_code == 422
    drain()
    [got] = receiver.at("/big-key")
    assert got.verified and got.json == first_body["payload"]
