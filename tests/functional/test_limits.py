"""Issue 12: limits that hold under concurrency, inputs that never make a 500, keys never at rest
in clear. Concurrency runs the services from many threads at once against moto, whose writes are
made atomic as DynamoDB's are (local/moto_atomic.py; the local stack runs moto the same way)."""
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import config
from chalicelib.aws import clients
from chalicelib.core import clock
from chalicelib.core.errors import InfraiError
from chalicelib.services.tenancy import projects

from .conftest import Api, dispatch_messages

N = 24


@pytest.fixture(autouse=True)
def atomic_moto():
    from local import moto_atomic
    moto_atomic.install()


def limits(monkeypatch, **values):
    monkeypatch.setenv("INFRAI_PLAN_LIMITS", json.dumps({"trial": values}))


def at_once(fn, n=N):
    """fn(i) for i in range(n), all started together; the outcomes (a result, or the error code)."""
    def one(i):
        try:
            return fn(i)
        except InfraiError as e:
            return e.code
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def all_items(table=None) -> list[dict]:
    ddb = clients.dynamodb()
    items, kwargs = [], {"TableName": table or config.table_name()}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def schedules() -> list[str]:
    sch = clients.scheduler()
    return [s["Name"] for s in sch.list_schedules(GroupName=config.schedule_group())["Schedules"]]


# ---------------------------------------------------------------- limits under concurrency

def test_concurrent_cron_creates_leave_exactly_the_limit_paused_ones_included(aws, project, monkeypatch):
    from chalicelib.services.cron import cron
    limits(monkeypatch, cron_jobs=5)
    pid = project["project_id"]
    body = {"name": "c", "schedule": "0 9 * * *", "url": "https://hooks.example.com/"}
    out = at_once(lambda i: cron.create(pid, {**body, "enabled": i % 2 == 0}, None))
    made = [o for o in out if isinstance(o, dict)]
    assert len(made) == 5 and out.count("quota_exceeded") == N - 5, out
    assert len(cron.list_(pid, {"limit": "100"})["items"]) == 5
    assert len(schedules()) == 5, "every refused create left no schedule behind"
    cron.delete(pid, made[0]["cron_id"])
    assert isinstance(cron.create(pid, body, None), dict), "a deleted job gives its place back"


def test_concurrent_queue_creates_leave_exactly_the_limit(aws, project, monkeypatch):
    from chalicelib.services.queues import queues
    limits(monkeypatch, queues=4)
    pid = project["project_id"]
    out = at_once(lambda i: queues.put(pid, f"q{i}", {}))
    assert sum(isinstance(o, dict) for o in out) == 4 and out.count("quota_exceeded") == N - 4, out
    assert len(queues.list_(pid, {"limit": "100"})["items"]) == 4
    # creating one that exists is not a new queue, and deleting one gives its place back
    existing = [o["name"] for o in out if isinstance(o, dict)]
    assert queues.put(pid, existing[0], {"retries": 1})["retries"] == 1
    queues.delete(pid, existing[0], {})
    assert queues.put(pid, "another", {})["name"] == "another"


def test_a_trial_projects_topics_are_limited_and_a_deleted_one_gives_its_place_back(api, monkeypatch):
    T = "/v1/scheduling/topics"
    limits(monkeypatch, topics=2)
    assert api.call("PUT", f"{T}/a", {}).status_code == 200
    assert api.call("PUT", f"{T}/b", {"description": "B"}).status_code == 200
    refused = api.call("PUT", f"{T}/c", {})
    assert refused.status_code == 429 and refused.data["error"]["code"] == "quota_exceeded"
    assert refused.data["error"]["limit"] == "topics" and refused.data["error"]["limit_value"] == 2
    assert "allows 2 topics; delete one first" in refused.data["error"]["message"]
    assert api.call("GET", f"{T}/c").status_code == 404
    assert [t["name"] for t in api.call("GET", T).data["items"]] == ["a", "b"]
    # an existing topic, at the limit: its description changes and a repeated create answers, neither counted
    assert api.call("PUT", f"{T}/b", {"description": "B2"}).data["description"] == "B2"
    assert api.call("PUT", f"{T}/a", {}).status_code == 200
    me = api.call("GET", "/v1/auth/me").data
    assert me["limits"]["topics"] == 2 and me["usage"]["topics"] == 2
    assert api.call("DELETE", f"{T}/a").status_code == 200
    assert api.call("GET", "/v1/auth/me").data["usage"]["topics"] == 1
    assert api.call("PUT", f"{T}/c", {}).status_code == 200, "the deleted topic gave its place back"
    assert api.call("PUT", f"{T}/d", {}).status_code == 429


def test_topics_made_before_the_limit_are_counted_on_the_first_write(aws, project, monkeypatch):
    from chalicelib.aws import store
    from chalicelib.services.tenancy import counters
    from chalicelib.services.topics import topics
    pid = project["project_id"]
    for name in ("-x", "Z.9", "zz"):
        topics.put(pid, name, {})
    store.delete(*counters.counter_key(pid, "topics"))   # as a project from before the counter
    limits(monkeypatch, topics=4)
    out = at_once(lambda i: topics.put(pid, f"t{i}", {}), n=6)
    assert sum(isinstance(o, dict) for o in out) == 1 and out.count("quota_exceeded") == 5, out
    assert len(topics.list_(pid, {"limit": "100"})["items"]) == 4


def test_concurrent_key_creates_and_revokes_keep_the_limits(aws, project, monkeypatch):
    limits(monkeypatch, api_keys=3)
    pid = project["project_id"]
    out = at_once(lambda i: projects.add_key(pid))
    assert sum(isinstance(o, dict) for o in out) == 2 and out.count("quota_exceeded") == N - 2, out
    keys = [k["key_id"] for k in projects.me(pid)["keys"] if not k["revoked_at"]]
    assert len(keys) == 3
    # revoking every key at once: never the last one
    out = at_once(lambda i: projects.revoke_key(pid, keys[i % 3]), n=9)
    assert sum(1 for k in projects.me(pid)["keys"] if not k["revoked_at"]) == 1, out
    assert "conflict" in out


def test_replays_count_against_the_daily_limit(api, project, monkeypatch):
    from chalicelib.aws import keys, store
    limits(monkeypatch, deliveries_per_day=2)
    sent = api.call("POST", "/v1/scheduling/webhook/send", {"url": "https://hooks.example.com/", "payload": {}})
    store.update(*keys.delivery(sent.data["delivery_id"]), {"state": "failed"})
    path = f"/v1/scheduling/webhook/deliveries/{sent.data['delivery_id']}/retry"
    assert api.call("POST", path).status_code == 202, "a replay within the limit goes"
    store.update(*keys.delivery(sent.data["delivery_id"]), {"state": "failed"})
    refused = api.call("POST", path)
    assert refused.status_code == 429 and refused.data["error"]["limit"] == "deliveries_per_day"
    assert store.get(*keys.delivery(sent.data["delivery_id"]))["state"] == "failed", "refused: nothing changed"
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 86400 and wait == pytest.approx(86400 - clock.now() % 86400, abs=5)


# ---------------------------------------------------------------- keys never at rest in clear

def test_keys_and_secrets_returned_by_idempotent_posts_are_never_stored_in_clear(client, api):
    idem = {"Idempotency-Key": "idem_" + "5f0c" * 8}
    first = client.http.post("/v1/auth/activate", headers=idem, body=b"")
    again = client.http.post("/v1/auth/activate", headers=idem, body=b"")
    assert first.status_code == again.status_code == 201
    activated = json.loads(first.body)
    assert json.loads(again.body) == activated, "a retry still gets its key back"
    k1, k2 = api.call("POST", "/v1/auth/keys", headers=idem), api.call("POST", "/v1/auth/keys", headers=idem)
    assert k1.status_code == 201 and k1.data == k2.data
    r1 = api.call("POST", "/v1/scheduling/webhook/secret/rotate", headers=idem)
    r2 = api.call("POST", "/v1/scheduling/webhook/secret/rotate", headers=idem)
    assert r1.status_code == 200 and r1.data == r2.data
    stored = json.dumps([all_items(t) for t in (config.table_name(), config.idempotency_table_name())])
    assert "idempotency" in config.idempotency_table_name() and len(all_items(config.idempotency_table_name())) >= 3
    for secret in (activated["api_key"], k1.data["api_key"], api.key):
        assert secret not in stored and secret[len("ifr_pk_proj_"):] not in stored
    assert r1.data["secret"] not in json.dumps(all_items(config.idempotency_table_name()))


def test_a_key_returning_post_refuses_a_guessable_idempotency_key(client, api):
    resp = client.http.post("/v1/auth/activate", headers={"Idempotency-Key": "setup-1"}, body=b"")
    assert resp.status_code == 400 and json.loads(resp.body)["error"]["field"] == "idempotency_key"
    assert api.call("POST", "/v1/auth/keys", headers={"Idempotency-Key": "k2"}).status_code == 400
    assert len(api.call("GET", "/v1/auth/me").data["keys"]) == 1, "refused: no key made"


def test_activation_replay_is_not_scoped_to_the_address(client, monkeypatch):
    """Two callers behind one NAT, each with its own key, get their own projects; the same
    caller's retry from a new address (a phone changing networks) still gets its key back."""
    from chalice.local import LambdaEventConverter
    a = client.http.post("/v1/auth/activate", headers={"Idempotency-Key": "a" * 36}, body=b"")
    b = client.http.post("/v1/auth/activate", headers={"Idempotency-Key": "b" * 36}, body=b"")
    assert json.loads(a.body)["api_key"] != json.loads(b.body)["api_key"]
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "198.51.100.7")
    again = client.http.post("/v1/auth/activate", headers={"Idempotency-Key": "a" * 36}, body=b"")
    assert again.status_code == 201 and json.loads(again.body) == json.loads(a.body)


def test_revocation_takes_effect_at_once_on_the_revoking_instance(api, client, project):
    second = Api(client, api.call("POST", "/v1/auth/keys").data["api_key"])
    assert api.call("GET", "/v1/auth/me").status_code == 200     # the first key is now cached
    assert second.call("DELETE", f"/v1/auth/keys/{project['key_id']}").status_code == 200
    gone = api.call("GET", "/v1/auth/me")
    assert gone.status_code == 401 and gone.data["error"]["field"] == "Authorization"


def test_activation_is_limited_per_network_over_a_sliding_hour(aws, monkeypatch):
    from chalicelib.services.tenancy import activation
    monkeypatch.setenv("INFRAI_ACTIVATIONS_PER_HOUR", "3")
    now = [3600 * 1000 + 3000.0]            # 10 minutes before an hour boundary
    monkeypatch.setattr(clock, "_now", lambda: now[0])

    def go(ip):
        try:
            activation.activate(ip)
            return 201
        except InfraiError as e:
            assert e.retry_after > 0
            return e.status
    assert [go(f"203.0.113.{i}") for i in (1, 2, 3, 4)] == [201, 201, 201, 429], "one /24"
    assert go("203.0.114.1") == 201, "another /24"
    now[0] += 1200                          # past the clock-hour boundary: still within the hour
    assert go("203.0.113.9") == 429
    assert [go(f"2001:db8:1:2::{i}") for i in range(1, 5)] == [201, 201, 201, 429], "one /64"
    assert go("::ffff:203.0.113.77") == 429, "an IPv4-mapped address is its IPv4 /24"
    now[0] += 2500                          # an hour after the first three
    assert go("203.0.113.9") == 201


# ---------------------------------------------------------------- one JSON rule

HOSTILE = [
    (b'{"url": "https://hooks.example.com/", "payload": {"a": NaN}}', None),
    (b'{"url": "https://hooks.example.com/", "payload": {"a": Infinity}}', None),
    (b'{"url": "https://hooks.example.com/", "payload": {"a": -Infinity}}', None),
    (b'{"url": "https://hooks.example.com/", "payload": {"a": 1e999}}', None),
    (b'{"url": "https://hooks.example.com/", "payload": {"a": -1e-999}}', None),
    (b'{"url": "https://hooks.example.com/", "payload": {"a": "\\ud800"}}', "payload"),
    (b'{"url": "https://hooks.example.com/", "payload": {"\\udfff": 1}}', "payload"),
    (b'{"url": "https://hooks.example.com/", "payload": {"a": "\xff\xfe"}}', None),
    ('{"url": "https://hooks.example.com/", "payload": {"a": "é"}}'.encode("utf-16"), None),
]


@pytest.mark.parametrize("raw,field", HOSTILE)
def test_invalid_json_is_a_400_that_stores_nothing(api, raw, field):
    resp = api.call("POST", "/v1/scheduling/webhook/send", raw=raw)
    assert resp.status_code == 400 and resp.data["error"]["code"] == "invalid_request", resp.data
    assert resp.data["error"]["field"] == field
    assert api.call("GET", "/v1/scheduling/webhook/deliveries").data["items"] == []


@pytest.mark.parametrize("field,value", [("name", "\\ud800 job"), ("payload", '{"x": "\\udbff"}'),
                                         ("payload", '[1, NaN]'), ("schedule", '"0 9 * * *\\udc00"')])
def test_a_lone_surrogate_or_nan_in_a_cron_job_is_a_400(api, field, value):
    body = {"name": "j", "schedule": "0 9 * * *", "url": "https://hooks.example.com/"}
    text = json.dumps(body)[:-1] + f', "{field}": ' + (value if value[0] in "[{\"" else f'"{value}"') + "}"
    resp = api.call("POST", "/v1/scheduling/cron", raw=text.encode())
    assert resp.status_code == 400, resp.data
    assert api.call("GET", "/v1/scheduling/cron").data["items"] == []


def test_a_bad_message_in_a_batch_fails_in_its_own_slot(api):
    raw = (b'{"messages": [{"queue": "q", "payload": {"ok": 1}}, {"queue": "q", "payload": {"a": "\\ud800"}},'
           b' {"queue": "q\\udc00", "payload": {}}, {"queue": "q", "payload": {}, "\\ud801": 1}]}')
    resp = api.call("POST", "/v1/scheduling/queue/publish-batch", raw=raw)
    assert resp.status_code == 202, resp.data
    assert resp.data["accepted"] == 1 and resp.data["rejected"] == 3
    assert [("error" in r) for r in resp.data["results"]] == [False, True, True, True]
    assert resp.data["results"][1]["error"]["field"] == "payload"


def test_output_is_strict_json_even_for_a_record_stored_before_the_rule(api, project):
    from chalicelib.aws import keys, store
    job = api.call("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *",
                                                   "url": "https://hooks.example.com/"}).data
    store.update(*keys.cron_job(job["cron_id"]), {"payload": '{"a":NaN,"b":[Infinity,1]}'})
    resp = api.client.http.get("/v1/scheduling/cron", headers={"Authorization": f"Bearer {api.key}"})
    body = json.loads(resp.body, parse_constant=lambda c: pytest.fail(f"{c} in the output"))
    assert resp.status_code == 200 and body["items"][0]["payload"] == {"a": None, "b": [None, 1]}


@pytest.mark.parametrize("name", ["a%0A", "a%0D", "%0Aa", "a%00"])
def test_a_name_with_a_line_break_is_refused(api, name):
    resp = api.call("PUT", f"/v1/scheduling/queue/{name}", {})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "name"
    resp = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "a\n", "payload": {}})
    assert resp.status_code == 400 and resp.data["error"]["field"] == "queue"
    assert api.call("GET", "/v1/scheduling/queue").data["items"] == []


# ---------------------------------------------------------------- 413, Retry-After, field, SSRF

def test_over_the_plans_payload_is_413_and_every_429_says_retry_after(api, monkeypatch):
    limits(monkeypatch, payload_bytes=100, cron_jobs=0)
    big = api.call("POST", "/v1/scheduling/webhook/send", {"url": "https://hooks.example.com/", "payload": {"a": "x" * 200}})
    assert big.status_code == 413 and big.data["error"]["field"] == "payload" and "Retry-After" not in big.headers
    full = api.call("POST", "/v1/scheduling/cron", {"name": "j", "schedule": "0 9 * * *", "url": "https://hooks.example.com/"})
    assert full.status_code == 429 and full.data["error"]["field"] is None
    assert int(full.headers["Retry-After"]) >= 3600, "a limit that only a delete frees: not worth a quick retry"


def test_a_target_the_ssrf_guard_refuses_fails_at_once(aws, project, monkeypatch):
    from chalicelib import sender
    from chalicelib.services.deliver import router
    from chalicelib.services.webhooks import webhooks
    monkeypatch.setenv("INFRAI_ALLOW_PRIVATE_TARGETS", "")
    monkeypatch.setattr(sender, "_default_resolver", lambda host, port: ["93.184.216.34"])
    d = webhooks.send(project["project_id"], {"url": "https://rebind.example.com/", "payload": {}, "retries": 5}, None)
    monkeypatch.setattr(sender, "_default_resolver", lambda host, port: ["10.0.0.7"])
    [work] = dispatch_messages()
    router.process_batch([json.dumps(work)])
    record = webhooks.get(project["project_id"], d["delivery_id"])
    assert record["state"] == "failed" and record["attempt_count"] == 1, record


# ---------------------------------------------------------------- attempts per day

def test_attempts_over_the_daily_limit_wait_for_the_next_day_and_are_then_made(api, receiver, monkeypatch):
    """Retries and replays make attempts that deliveries per day does not count: a project on the
    trial plan could send without bound by replaying a failing delivery. Over the attempts limit
    the attempt waits, visibly, until the UTC day ends; it is never failed nor dropped."""
    from .conftest import drain, reconcile_after
    noon = (int(clock.now()) // 86400) * 86400 + 12 * 3600   # far from the day's end, whenever CI runs
    started = time.time()
    monkeypatch.setattr(clock, "_now", lambda: noon + (time.time() - started))
    limits(monkeypatch, attempts_per_day=3)
    monkeypatch.setenv("INFRAI_RETRY_SCHEDULE", "0")
    receiver.script("/down", [500] * 5 + [200])
    sent = api.call("POST", "/v1/scheduling/webhook/send",
                    {"url": receiver.url("/down"), "payload": {"n": 1}, "retries": 5}).data
    path = f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}"
    drain()
    held = api.call("GET", path).data
    assert len(receiver.at("/down")) == 3 and held["attempt_count"] == 3, "three attempts, then the limit"
    assert held["state"] == "retrying" and held["deferred"]["limit"] == "attempts_per_day"
    midnight = (int(clock.now()) // 86400 + 1) * 86400
    assert held["deferred"]["until"] == clock.rfc3339(midnight) == held["next_attempt_at"]
    # the next day: the reconciler sends the deferred attempt when SQS can hold the rest of the wait
    monkeypatch.setattr(clock, "_now", lambda: midnight + 1)
    reconcile_after(0)
    drain()
    after = api.call("GET", path).data
    assert after["attempt_count"] == 6 and after["state"] == "succeeded" and after["deferred"] is None
    arrived = receiver.at("/down")   # (signed at simulated times, so not checked against the real clock here)
    assert len(arrived) == 6 and {a.headers["webhook-id"] for a in arrived} == {sent["delivery_id"]}


def test_replays_cannot_send_past_the_attempts_limit(api, receiver, monkeypatch):
    from .conftest import drain
    limits(monkeypatch, attempts_per_day=4)
    receiver.script("/dead", [500])
    sent = api.call("POST", "/v1/scheduling/webhook/send",
                    {"url": receiver.url("/dead"), "payload": {}, "retries": 0}).data
    path = f"/v1/scheduling/webhook/deliveries/{sent['delivery_id']}"
    drain()
    for _ in range(8):   # each accepted replay is a fresh attempt budget; only 4 attempts happen today
        if api.call("GET", path).data["state"] == "failed":
            assert api.call("POST", f"{path}/retry").status_code == 202
        drain()
    assert len(receiver.at("/dead")) == 4
    record = api.call("GET", path).data
    assert record["state"] == "queued" and record["deferred"]["limit"] == "attempts_per_day"


def test_a_publish_refused_by_the_queue_limit_takes_no_delivery(api, monkeypatch):
    limits(monkeypatch, queues=1, deliveries_per_day=2)
    assert api.call("POST", "/v1/scheduling/queue/publish", {"queue": "a", "payload": {}}).status_code == 202
    for _ in range(3):
        refused = api.call("POST", "/v1/scheduling/queue/publish", {"queue": "b", "payload": {}})
        assert refused.status_code == 429 and refused.data["error"]["limit"] == "queues"
        batch = api.call("POST", "/v1/scheduling/queue/publish-batch", {"messages": [{"queue": "c", "payload": {}}]})
        assert batch.status_code == 429 and batch.data["error"]["limit"] == "queues"
    assert api.call("POST", "/v1/scheduling/queue/publish", {"queue": "a", "payload": {}}).status_code == 202, \
        "the refused publishes gave their deliveries back: the second of two still fits"


def test_concurrent_first_keyed_requests_never_meet_a_half_configured_idempotency_layer(api, monkeypatch):
    """The local stack serves requests on threads; the first keyed requests of an operation used to
    race Powertools' configuration of its layer (500: 'NoneType' object has no attribute 'search')."""
    import jmespath

    from chalicelib.services.idempotency import idempotency
    idempotency._runner.cache_clear()
    slow_compile = jmespath.compile
    monkeypatch.setattr(jmespath, "compile", lambda expr: time.sleep(0.05) or slow_compile(expr))
    out = at_once(lambda i: api.call("POST", "/v1/scheduling/queue/publish", {"queue": "k", "payload": {"i": i}},
                                     headers={"Idempotency-Key": f"key-{i}"}).status_code, n=8)
    assert out == [202] * 8, out


def test_a_keyed_retry_at_the_daily_limit_is_answered_with_its_delivery_not_refused(api, monkeypatch):
    limits(monkeypatch, deliveries_per_day=1)
    send = {"url": "https://hooks.example.com/", "payload": {"n": 1}}
    first = api.call("POST", "/v1/scheduling/webhook/send", send, headers={"Idempotency-Key": "at-limit-1"})
    assert first.status_code == 202
    again = api.call("POST", "/v1/scheduling/webhook/send", send, headers={"Idempotency-Key": "at-limit-1"})
    assert again.status_code == 202 and again.data == first.data
    other = api.call("POST", "/v1/scheduling/webhook/send", {**send, "payload": {"n": 2}},
                     headers={"Idempotency-Key": "at-limit-1"})
    assert other.status_code == 422 and other.data["error"]["code"] == "idempotency_key_reused"
    new = api.call("POST", "/v1/scheduling/webhook/send", send, headers={"Idempotency-Key": "at-limit-2"})
    assert new.status_code == 429 and new.data["error"]["limit"] == "deliveries_per_day"
    api.call("PUT", "/v1/scheduling/queue/capped", {"url": "https://hooks.example.com/q"})
    pub = {"queue": "capped", "payload": {"n": 1}}
    limits(monkeypatch, deliveries_per_day=2)
    made = api.call("POST", "/v1/scheduling/queue/publish", pub, headers={"Idempotency-Key": "at-limit-3"})
    assert made.status_code == 202
    retried = api.call("POST", "/v1/scheduling/queue/publish", pub, headers={"Idempotency-Key": "at-limit-3"})
    assert retried.status_code == 202 and retried.data == made.data


def test_a_send_refused_because_it_could_not_be_queued_gives_its_count_back(api, monkeypatch):
    from chalicelib.aws import dispatch
    limits(monkeypatch, deliveries_per_day=1)
    send = {"url": "https://hooks.example.com/", "payload": {}}

    def down(*a, **k):
        raise RuntimeError("SQS is unreachable")
    monkeypatch.setattr(dispatch, "enqueue_many", down)
    refused = api.call("POST", "/v1/scheduling/webhook/send", send, headers={"Idempotency-Key": "sqs-down"})
    assert refused.status_code == 503
    monkeypatch.undo()
    limits(monkeypatch, deliveries_per_day=1)
    assert api.call("POST", "/v1/scheduling/webhook/send", send, headers={"Idempotency-Key": "sqs-down"}).status_code == 202
