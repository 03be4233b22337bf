"""Fan-out (issue 25, docs/topics.md) through the API against moto, delivered to a real receiver
on 127.0.0.1 that verifies every signature with `standardwebhooks`."""
import pytest

from chalicelib.services.tenancy import projects

from .conftest import Api, drain

T = "/v1/scheduling/topics"
S = "/v1/scheduling/subscriptions"
E = "/v1/scheduling/event-types"


def subscribe(api, topic, body):
    resp = api.call("POST", f"{T}/{topic}/subscriptions", body)
    assert resp.status_code == 201, resp.data
    return resp.data["subscription_id"]


def test_topics_are_created_listed_read_and_deleted(api):
    assert api.call("PUT", f"{T}/orders", {"description": "Order lifecycle"}).data["description"] == "Order lifecycle"
    assert api.call("PUT", f"{T}/orders", {}).data["description"] == "Order lifecycle"   # unchanged
    api.call("PUT", f"{T}/billing", {})
    assert [t["name"] for t in api.call("GET", T).data["items"]] == ["billing", "orders"]
    got = api.call("GET", f"{T}/orders").data
    assert got["subscriptions"] == 0 and got["created_at"].endswith("Z")
    sub = subscribe(api, "orders", {"url": "https://hooks.example.com/o"})
    refused = api.call("DELETE", f"{T}/orders")
    assert refused.status_code == 409 and refused.data["error"]["subscriptions"] == 1
    assert api.call("DELETE", f"{S}/{sub}").status_code == 200
    assert api.call("DELETE", f"{T}/orders").data == {"deleted": "orders"}
    assert api.call("GET", f"{T}/orders").status_code == 404
    assert api.call("GET", "/v1/scheduling/queue").data["items"] == [], "a subscription's queue is internal"


def test_three_subscriptions_get_exactly_what_their_types_and_filter_say_signed(api, receiver):
    api.call("PUT", f"{T}/orders", {})
    paid = subscribe(api, "orders", {"url": receiver.url("/paid"), "event_types": ["order.paid"]})
    big = subscribe(api, "orders", {"url": receiver.url("/big"), "filter": {"amount": [{"numeric": [">", 100]}]},
                                    "headers": {"X-Team": "finance"}})
    every = subscribe(api, "orders", {"url": receiver.url("/all")})
    published = []
    for event_type, amount in (("order.paid", 50), ("order.created", 500), ("order.paid", 150)):
        resp = api.call("POST", f"{T}/orders/publish", {"event_type": event_type, "payload": {"amount": amount}})
        assert resp.status_code == 202, resp.data
        published.append(resp.data)
    assert [p["matched"] for p in published] == [2, 2, 3]
    assert {d["subscription_id"] for d in published[2]["deliveries"]} == {paid, big, every}
    drain()
    arrived = {path: [(a.headers["infrai-event-type"], a.json["amount"]) for a in receiver.at(path)]
               for path in ("/paid", "/big", "/all")}
    assert sorted(arrived["/paid"]) == [("order.paid", 50), ("order.paid", 150)]
    assert sorted(arrived["/big"]) == [("order.created", 500), ("order.paid", 150)]
    assert sorted(arrived["/all"]) == [("order.created", 500), ("order.paid", 50), ("order.paid", 150)]
    everything = receiver.arrivals
    assert len(everything) == 7 and all(a.verified for a in everything)
    assert len({a.headers["webhook-id"] for a in everything}) == 7, "each delivery its own webhook-id"
    assert {a.headers["x-team"] for a in receiver.at("/big")} == {"finance"}
    assert {a.headers["infrai-subscription"] for a in receiver.at("/paid")} == {paid}
    listed = api.call("GET", "/v1/scheduling/deliveries?topic=orders&limit=100").data["items"]
    assert len(listed) == 7 and {d["state"] for d in listed} == {"succeeded"}
    mine = api.call("GET", f"/v1/scheduling/deliveries?subscription_id={big}").data["items"]
    assert sorted(d["delivery_id"] for d in mine) == sorted(
        d["delivery_id"] for p in published for d in p["deliveries"] if d["subscription_id"] == big)
    assert api.call("GET", "/v1/scheduling/deliveries?topic=other").data["items"] == []
    one = api.call("GET", f"/v1/scheduling/queue/messages/{mine[0]['delivery_id']}").data
    assert one["state"] == "succeeded" and len(one["attempts"]) == 1
    counts = api.call("GET", f"{S}/{big}").data["counts"]
    assert counts["queued"] == 0 and counts["failed"] == 0


def test_a_failing_subscription_retries_without_delaying_the_others(api, receiver, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    receiver.script("/down", [500, 500, 200])
    api.call("PUT", f"{T}/t", {})
    down = subscribe(api, "t", {"url": receiver.url("/down"), "retries": 5})
    subscribe(api, "t", {"url": receiver.url("/up")})
    sent = api.call("POST", f"{T}/t/publish", {"event_type": "x", "payload": {"n": 1}}).data
    drain(rounds=1)
    assert len(receiver.at("/up")) == 1, "the healthy subscriber had its delivery in the first round"
    drain()
    tries = receiver.at("/down")
    assert len(tries) == 3 and len({a.headers["webhook-id"] for a in tries}) == 1
    [mine] = [d for d in sent["deliveries"] if d["subscription_id"] == down]
    got = api.call("GET", f"/v1/scheduling/queue/messages/{mine['delivery_id']}").data
    assert got["state"] == "succeeded" and [a["status_code"] for a in got["attempts"]] == [500, 500, 200]


def test_two_hundred_subscriptions_each_receive_one_publish_once(api, receiver):
    api.call("PUT", f"{T}/wide", {})
    for i in range(200):
        subscribe(api, "wide", {"url": receiver.url(f"/s{i}")})
    resp = api.call("POST", f"{T}/wide/publish", {"event_type": "ping", "payload": {}})
    assert resp.data["matched"] == 200 and len({d["delivery_id"] for d in resp.data["deliveries"]}) == 200
    drain(rounds=60)
    assert sorted(a.path for a in receiver.arrivals) == sorted(f"/s{i}" for i in range(200))
    assert all(a.verified for a in receiver.arrivals)


def test_a_retried_publish_with_the_same_key_delivers_once(api, receiver, monkeypatch):
    api.call("PUT", f"{T}/k", {})
    subscribe(api, "k", {"url": receiver.url("/k")})
    body = {"event_type": "e", "payload": {"a": 1}}
    first = api.call("POST", f"{T}/k/publish", body, headers={"Idempotency-Key": "pub-1"}).data
    again = api.call("POST", f"{T}/k/publish", body, headers={"Idempotency-Key": "pub-1"}).data
    assert again == first
    drain()
    assert len(receiver.at("/k")) == 1


def test_a_publish_that_died_after_writing_is_made_once_on_retry(api, receiver, monkeypatch):
    """The answer was never kept (the process died after the deliveries were written): the retry
    finds the same ids (request_ids, derived per subscription) and writes nothing twice."""
    from chalicelib.services.idempotency import idempotency
    api.call("PUT", f"{T}/c", {})
    for i in range(3):
        subscribe(api, "c", {"url": receiver.url(f"/c{i}")})
    body = {"event_type": "e", "payload": {}}
    real_once = idempotency.once
    monkeypatch.setattr(idempotency, "once", lambda p, op, key, b, fn, **kw: fn())   # nothing kept
    first = api.call("POST", f"{T}/c/publish", body, headers={"Idempotency-Key": "crash-1"}).data
    again = api.call("POST", f"{T}/c/publish", body, headers={"Idempotency-Key": "crash-1"}).data
    monkeypatch.setattr(idempotency, "once", real_once)
    assert again["message_id"] == first["message_id"]
    assert sorted(d["delivery_id"] for d in again["deliveries"]) == sorted(d["delivery_id"] for d in first["deliveries"])
    drain()
    assert sorted(a.path for a in receiver.arrivals) == ["/c0", "/c1", "/c2"]


def test_a_paused_subscription_holds_and_resume_releases(api, receiver):
    api.call("PUT", f"{T}/p", {})
    sub = subscribe(api, "p", {"url": receiver.url("/p")})
    assert api.call("POST", f"{S}/{sub}/pause").data["paused"] is True
    sent = api.call("POST", f"{T}/p/publish", {"event_type": "e", "payload": {}}).data
    assert [d["state"] for d in sent["deliveries"]] == ["held"]
    drain()
    assert receiver.at("/p") == []
    assert api.call("POST", f"{S}/{sub}/resume").data["paused"] is False
    drain()
    assert len(receiver.at("/p")) == 1


def test_subscriptions_are_read_changed_and_listed(api):
    api.call("PUT", f"{T}/o", {})
    sub = subscribe(api, "o", {"url": "https://hooks.example.com/a", "event_types": ["a.b"], "retries": 7,
                               "headers": {"Authorization": "Bearer secret-value-1234"},
                               "rate_limit": {"count": 10, "period_seconds": 1}, "description": "CRM"})
    got = api.call("GET", f"{S}/{sub}").data
    assert got["topic"] == "o" and got["retries"] == 7 and got["event_types"] == ["a.b"]
    assert got["headers"]["Authorization"].startswith("••••") and "secret" not in str(got)
    changed = api.call("PATCH", f"{S}/{sub}", {"event_types": None, "filter": {"tier": ["gold"]},
                                                "url": "https://hooks.example.com/b", "rate_limit": None}).data
    assert changed["event_types"] is None and changed["filter"] == {"tier": ["gold"]}
    assert changed["url"] == "https://hooks.example.com/b" and changed["rate_limit"] is None
    assert changed["retries"] == 7
    listed = api.call("GET", f"{T}/o/subscriptions").data["items"]
    assert [s["subscription_id"] for s in listed] == [sub]
    assert api.call("GET", f"{S}/sub_nope").status_code == 404
    assert api.call("DELETE", f"{S}/{sub}").data == {"deleted": sub, "cancelled_deliveries": 0}
    assert api.call("GET", f"{S}/{sub}").status_code == 404
    assert api.call("GET", f"{T}/o").data["subscriptions"] == 0


@pytest.mark.parametrize("body,field", [
    ({}, "url"),
    ({"url": "ftp://x"}, "url"),
    ({"url": "https://h.example.com", "filter": {"amount": {"numeric": [">", 1]}}}, "filter.amount"),
    ({"url": "https://h.example.com", "filter": {"a": [{"suffix": "x"}]}}, "filter.a[0]"),
    ({"url": "https://h.example.com", "filter": []}, "filter"),
    ({"url": "https://h.example.com", "event_types": []}, "event_types"),
    ({"url": "https://h.example.com", "event_types": ["bad type"]}, "event_types[0]"),
    ({"url": "https://h.example.com", "retries": 99}, "retries"),
    ({"url": "https://h.example.com", "destination": "arn:aws:sqs:eu-west-1:1:q"}, None),
])
def test_bad_subscriptions_are_refused_and_change_nothing(api, body, field):
    api.call("PUT", f"{T}/o", {})
    resp = api.call("POST", f"{T}/o/subscriptions", body)
    assert resp.status_code == 400, resp.data
    if field:
        assert resp.data["error"]["field"] == field, resp.data
    assert api.call("GET", f"{T}/o/subscriptions").data["items"] == []
    assert api.call("GET", f"{T}/o").data["subscriptions"] == 0


def test_event_types_with_a_schema_guard_publishes(api, receiver):
    schema = {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number", "minimum": 0}}}
    put = api.call("PUT", f"{E}/order.paid", {"description": "Paid", "schema": schema})
    assert put.status_code == 200 and put.data["schema"] == schema
    assert [t["name"] for t in api.call("GET", E).data["items"]] == ["order.paid"]
    api.call("PUT", f"{T}/orders", {})
    subscribe(api, "orders", {"url": receiver.url("/o")})
    bad = api.call("POST", f"{T}/orders/publish", {"event_type": "order.paid", "payload": {"amount": -1}})
    assert bad.status_code == 400 and bad.data["error"]["field"] == "payload"
    assert "payload.amount" in bad.data["error"]["message"]
    missing = api.call("POST", f"{T}/orders/publish", {"event_type": "order.paid", "payload": {}})
    assert missing.status_code == 400
    drain()
    assert receiver.arrivals == [] and api.call("GET", "/v1/scheduling/deliveries").data["items"] == []
    assert api.call("POST", f"{T}/orders/publish", {"event_type": "order.paid", "payload": {"amount": 3}}).status_code == 202
    assert api.call("POST", f"{T}/orders/publish", {"event_type": "undeclared", "payload": {"x": 1}}).status_code == 202


@pytest.mark.parametrize("schema", [{"type": "decimal"}, {"pattern": "^a"}, [], {"required": "x"}])
def test_bad_schemas_are_refused_and_change_nothing(api, schema):
    resp = api.call("PUT", f"{E}/t.x", {"schema": schema})
    assert resp.status_code == 400 and resp.data["error"]["field"].startswith("schema"), resp.data
    assert api.call("GET", E).data["items"] == []


def test_bad_publishes_are_refused(api):
    api.call("PUT", f"{T}/o", {})
    for body, field in (({"payload": {}}, "event_type"), ({"event_type": "e"}, "payload"),
                        ({"event_type": "e", "payload": {}, "delay_seconds": -1}, "delay_seconds"),
                        ({"event_type": "e", "payload": {}, "url": "https://x.example.com"}, None)):
        resp = api.call("POST", f"{T}/o/publish", body)
        assert resp.status_code == 400, (body, resp.data)
        if field:
            assert resp.data["error"]["field"] == field
    assert api.call("POST", f"{T}/nope/publish", {"event_type": "e", "payload": {}}).status_code == 404
    assert api.call("PUT", f"{T}/bad name", {}).status_code == 400
    assert api.call("GET", "/v1/scheduling/deliveries?subscription_id=nope").status_code == 400


def test_another_project_cannot_see_or_publish_to_the_topic(api, client, receiver):
    api.call("PUT", f"{T}/orders", {})
    sub = subscribe(api, "orders", {"url": receiver.url("/o")})
    api.call("PUT", f"{E}/order.paid", {})
    other = Api(client, projects.create_project()["api_key"])
    assert other.call("GET", f"{T}/orders").status_code == 404
    assert other.call("GET", T).data["items"] == []
    assert other.call("POST", f"{T}/orders/publish", {"event_type": "e", "payload": {}}).status_code == 404
    assert other.call("GET", f"{T}/orders/subscriptions").status_code == 404
    assert other.call("POST", f"{T}/orders/subscriptions", {"url": receiver.url("/x")}).status_code == 404
    for method in ("GET", "PATCH", "DELETE"):
        assert other.call(method, f"{S}/{sub}", {} if method == "PATCH" else None).status_code == 404
    assert other.call("GET", E).data["items"] == []
    assert other.call("GET", f"/v1/scheduling/deliveries?subscription_id={sub}").data["items"] == []
    other.call("PUT", f"{T}/orders", {})   # its own topic of the same name is another topic
    assert other.call("POST", f"{T}/orders/publish", {"event_type": "e", "payload": {}}).data["matched"] == 0
    drain()
    assert receiver.arrivals == []


def test_an_expunge_removes_topics_subscriptions_and_event_types(api, project, receiver, monkeypatch):
    from chalicelib.services.expunge import expunge, sweep

    from .test_expunge import items_of, run_job
    monkeypatch.setattr(expunge, "REVOKE_GRACE", 0)
    monkeypatch.setitem(sweep.PHASES, "deliveries", 0)
    pid = project["project_id"]
    api.call("PUT", f"{T}/orders", {})
    api.call("PUT", f"{E}/order.paid", {"schema": {"type": "object"}})
    sub = subscribe(api, "orders", {"url": receiver.url("/o"), "rate_limit": {"count": 5, "period_seconds": 1}})
    api.call("POST", f"{T}/orders/publish", {"event_type": "order.paid", "payload": {}})
    drain()
    before = items_of(pid)
    assert any(sub in pk or sub == sk for pk, sk in before) and any(pk.startswith("TOPICS#") for pk, _ in before)
    assert api.call("POST", "/v1/auth/project/expunge", {"confirm": pid}).status_code == 202
    run_job(pid)
    left = [k for k in items_of(pid) if not k[0].startswith(("KEY#", "EXPUNGE#", "IDS#"))]
    assert left == [], left


def test_a_broken_subscribers_breaker_holds_its_deliveries_and_not_the_others(api, receiver, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    receiver.script("/dead", [500])
    api.call("PUT", f"{T}/b", {})
    dead = subscribe(api, "b", {"url": receiver.url("/dead"), "retries": 10,
                                "circuit_breaker": {"failures": 2, "min_seconds": 0, "probe_seconds": 3600}})
    subscribe(api, "b", {"url": receiver.url("/fine")})
    for i in range(2):
        api.call("POST", f"{T}/b/publish", {"event_type": "e", "payload": {"i": i}})
    drain()
    tried = len(receiver.at("/dead"))
    later = api.call("POST", f"{T}/b/publish", {"event_type": "e", "payload": {"i": 2}}).data
    drain()
    assert len(receiver.at("/dead")) == tried, "nothing more is sent to an open endpoint"
    assert sorted(a.json["i"] for a in receiver.at("/fine")) == [0, 1, 2]
    [held] = [d for d in later["deliveries"] if d["subscription_id"] == dead]
    assert api.call("GET", f"/v1/scheduling/queue/messages/{held['delivery_id']}").data["state"] == "held"
    [ep] = api.call("GET", "/v1/scheduling/endpoints").data["items"]
    assert ep["state"] == "open" and ep["queues"] == [f"@b/{dead}"]


def test_a_failed_delivery_is_replayed_with_its_webhook_id(api, receiver, monkeypatch):
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    receiver.script("/r", [500, 200])
    api.call("PUT", f"{T}/r", {})
    sub = subscribe(api, "r", {"url": receiver.url("/r"), "retries": 0})
    [d] = api.call("POST", f"{T}/r/publish", {"event_type": "e", "payload": {}}).data["deliveries"]
    drain()
    assert api.call("GET", f"/v1/scheduling/queue/messages/{d['delivery_id']}").data["state"] == "failed"
    failed = api.call("GET", f"/v1/scheduling/deliveries?subscription_id={sub}&state=failed").data["items"]
    assert [f["delivery_id"] for f in failed] == [d["delivery_id"]]
    assert api.call("POST", f"/v1/scheduling/queue/messages/{d['delivery_id']}/retry").status_code == 202
    drain()
    got = api.call("GET", f"/v1/scheduling/queue/messages/{d['delivery_id']}").data
    assert got["state"] == "succeeded"
    assert [a.headers["webhook-id"] for a in receiver.at("/r")] == [d["delivery_id"]] * 2


def test_deleting_a_subscription_cancels_what_it_holds(api, receiver):
    api.call("PUT", f"{T}/h", {})
    sub = subscribe(api, "h", {"url": receiver.url("/h"), "paused": True})
    [d] = api.call("POST", f"{T}/h/publish", {"event_type": "e", "payload": {}}).data["deliveries"]
    assert api.call("DELETE", f"{S}/{sub}").data == {"deleted": sub, "cancelled_deliveries": 1}
    assert api.call("GET", f"/v1/scheduling/queue/messages/{d['delivery_id']}").data["state"] == "cancelled"
    drain()
    assert receiver.at("/h") == []


def test_a_retried_subscribe_with_the_same_key_makes_one_subscription(api):
    api.call("PUT", f"{T}/i", {})
    api.call("PUT", f"{T}/j", {})
    body = {"url": "https://hooks.example.com/i"}
    first = api.call("POST", f"{T}/i/subscriptions", body, headers={"Idempotency-Key": "sub-1"})
    again = api.call("POST", f"{T}/i/subscriptions", body, headers={"Idempotency-Key": "sub-1"})
    assert first.status_code == again.status_code == 201 and again.data == first.data
    assert api.call("GET", f"{T}/i").data["subscriptions"] == 1
    other = api.call("POST", f"{T}/j/subscriptions", body, headers={"Idempotency-Key": "sub-1"})
    assert other.status_code == 422, "the same key for another topic is another request"


def test_a_publish_that_died_between_chunks_is_finished_by_its_retry(api, receiver, monkeypatch):
    """Chunks of 2 here (100 deployed): the first chunk is written, the process dies before the
    second; the retry with the same key writes only what is missing, each subscriber gets one."""
    from chalicelib.services.queues import messages
    from chalicelib.services.topics import publish
    monkeypatch.setattr(publish, "CHUNK", 2)
    api.call("PUT", f"{T}/z", {})
    for i in range(3):
        subscribe(api, "z", {"url": receiver.url(f"/z{i}")})
    real, calls = messages.submit_many, []

    def dies_on_the_second_chunk(records, may_exist):
        calls.append(len(records))
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(records, may_exist)
    monkeypatch.setattr(messages, "submit_many", dies_on_the_second_chunk)
    body = {"event_type": "e", "payload": {}}
    first = api.call("POST", f"{T}/z/publish", body, headers={"Idempotency-Key": "chunks-1"})
    assert first.status_code == 500 and calls == [2, 1]
    again = api.call("POST", f"{T}/z/publish", body, headers={"Idempotency-Key": "chunks-1"})
    assert again.status_code == 202 and again.data["matched"] == 3, again.data
    drain()
    assert sorted(a.path for a in receiver.arrivals) == ["/z0", "/z1", "/z2"]
    assert len({a.headers["webhook-id"] for a in receiver.arrivals}) == 3


def test_a_publishs_deliveries_keep_its_payload_once_and_stay_under_a_kilobyte(api, receiver, monkeypatch):
    """N deliveries of one publish share one payload item (the first one's), so the payload is
    written once, not N times, and each record stays under 1 KB (one write unit per write); each
    still arrives with the whole payload and its topic headers, shows it when read, and replays."""
    import json

    from chalicelib.aws import keys, store
    from chalicelib.services.delivery import payloads
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    receiver.script("/shared-2", [500, 200])
    order = {"order_id": "ord_1", "items": [{"sku": f"SKU-{i:05d}", "qty": i % 5 + 1} for i in range(40)]}
    api.call("PUT", f"{T}/shared", {})
    subs = [subscribe(api, "shared", {"url": receiver.url(f"/shared-{i}"), "retries": 0}) for i in range(3)]
    made = api.call("POST", f"{T}/shared/publish", {"event_type": "order.paid", "payload": order}).data["deliveries"]
    records = [store.get(*keys.delivery(d["delivery_id"])) for d in made]
    holder = records[0]["delivery_id"]
    assert all(r["pref"] == holder and "pz" not in r and "payload" not in r for r in records)
    assert all(len(json.dumps(r, default=str)) < 1024 for r in records)
    assert store.get(*keys.payload(holder)) and not any(store.get(*keys.payload(r["delivery_id"])) for r in records[1:])
    drain()
    for i, sub in enumerate(subs):
        [got] = receiver.at(f"/shared-{i}")
        assert got.verified and got.json == order and got.headers["infrai-subscription"] == sub
        assert got.headers["infrai-topic"] == "shared" and got.headers["infrai-event-type"] == "order.paid"
    failed = made[2]["delivery_id"]
    assert api.call("GET", f"/v1/scheduling/webhook/deliveries/{failed}").data["payload"] == order
    assert json.loads(payloads.text(records[2])) == order
    assert api.call("POST", f"/v1/scheduling/queue/messages/{failed}/retry").status_code == 202
    drain()
    assert [a.json for a in receiver.at("/shared-2")] == [order, order]


def test_a_publish_has_one_list_entry_and_every_filter_still_finds_each_delivery(api, receiver):
    """A publish's deliveries share one entry in the list index (one index write for the
    publish, not one per subscription); the list opens it, and filtering by topic, subscription,
    the subscription's queue or host finds exactly the deliveries that match."""
    from chalicelib.aws import keys, store
    api.call("PUT", f"{T}/listed", {})
    subs = [subscribe(api, "listed", {"url": receiver.url(f"/listed-{i}")}) for i in range(3)]
    made = api.call("POST", f"{T}/listed/publish", {"event_type": "e", "payload": {"n": 1}}).data["deliveries"]
    records = [store.get(*keys.delivery(d["delivery_id"])) for d in made]
    assert len({r["lst"] for r in records}) == 1 and not any(r.get("ix_all") for r in records)
    by_sub = {d["subscription_id"]: d["delivery_id"] for d in made}

    def listed(query):
        return [i["delivery_id"] for i in api.call("GET", f"/v1/scheduling/deliveries?{query}").data["items"]]
    assert sorted(listed("topic=listed")) == sorted(by_sub.values())
    assert sorted(listed("kind=queue")) == sorted(by_sub.values())
    for sub in subs:
        assert listed(f"subscription_id={sub}") == [by_sub[sub]]
        assert listed(f"queue=@listed/{sub}") == [by_sub[sub]]
    assert sorted(listed("host=127.0.0.1")) == sorted(by_sub.values())
    assert listed("host=example.com") == [] and listed("kind=webhook") == []
    assert len(listed("limit=1")) == 1
    for item in api.call("GET", "/v1/scheduling/deliveries?topic=listed").data["items"]:
        assert (item["topic"], item["event_type"]) == ("listed", "e") and by_sub[item["subscription_id"]] == item["delivery_id"]
