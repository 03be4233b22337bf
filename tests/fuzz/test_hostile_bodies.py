"""One JSON rule (issue 12): a hypothesis property feeds generated hostile bodies to every route
of the spec over real HTTP: lone UTF-16 surrogates (in strings and keys), NaN and Infinity,
numbers no double holds (1e999, 1e-999, 5,000 digits), nesting past the limit, bytes that are not
UTF-8, other encodings. Every route that reads a body answers 4xx with the error shape and
changes nothing; none ever answers 5xx. (publish-batch may accept the good messages of a batch
when the bad one is a message: that message's slot then holds its error.)

Also here: unknown routes answer 404 in our shape and never echo a header."""
import json
import os

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import schema_check

SPEC = json.loads(schema_check.SPEC_PATH.read_text(encoding="utf-8"))
OPERATIONS = sorted((m.upper(), p) for p, item in SPEC["paths"].items() for m in item
                    if m in ("get", "put", "post", "patch", "delete"))
READS_BODY = {(m, p) for m, p in OPERATIONS if m in ("POST", "PUT", "PATCH")} - {("POST", "/v1/auth/activate")}
EXAMPLES = max(10, int(os.environ.get("FUZZ_EXAMPLES", "1000")) // 80)   # per route
PLACEHOLDER = {"cron_id": "cron_01ARZ3NDEKTSV4RRFFQ69G5FAV", "message_id": "msg_01ARZ3NDEKTSV4RRFFQ69G5FAV",
               "delivery_id": "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", "key_id": "key_01ARZ3NDEKTSV4RRFFQ69G5FAV",
               "name": "hostile-q"}
MARK = "\x00HOSTILE\x00"
MARK_TEXT = json.dumps(MARK)

# JSON text RFC 8259 and our rule refuse, each dropped where a value (or a key) would go
TOKENS = st.sampled_from([
    "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "-2.5e-400", "9" * 5000,
    '"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"', '"x\\udbff"',
    "[" * 70 + "1" + "]" * 70, '{"a":' * 70 + "1" + "}" * 70,
])
SAFE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)
# fields every route knows, so the hostile part sits among plausible ones
BASE = {"url": "http://127.0.0.1:9/h", "payload": {"n": 1}, "name": "h", "schedule": "0 9 * * *",
        "queue": "hostile-q", "messages": [{"queue": "hostile-q", "payload": {}}]}


@st.composite
def hostile_bodies(draw) -> bytes:
    body = dict(draw(st.dictionaries(st.sampled_from(sorted(BASE)), st.just(None), max_size=4)))
    body = {k: BASE[k] for k in body}
    body.update(draw(st.dictionaries(st.text(max_size=6), SAFE, max_size=2)))
    # where the hostile text goes: a value somewhere (maybe deep in the payload or a message), or a key
    spot = draw(st.sampled_from(["top", "payload", "message", "key"]))
    token = draw(TOKENS)
    if spot == "payload":
        body["payload"] = {**draw(st.dictionaries(st.text(max_size=4), SAFE, max_size=2)), "h": MARK}
    elif spot == "message":
        body["messages"] = [{"queue": "hostile-q", "payload": {"x": MARK}}, {"queue": "hostile-q", "payload": {}}]
    elif spot == "key" and token.startswith('"'):
        body["payload"] = {MARK: 1}
    else:
        body[draw(st.sampled_from(sorted(BASE) + ["extra"]))] = MARK
    text = json.dumps(body).replace(MARK_TEXT, token, 1)
    raw = text.encode()
    how = draw(st.sampled_from(["as is", "as is", "as is", "bad byte", "utf-16", "overlong"]))
    if how == "bad byte":
        raw = raw.replace(b'"', b'"\xff', 1)
    elif how == "utf-16":
        raw = text.encode("utf-16")
    elif how == "overlong":
        raw = raw.replace(b'"', b'"\xc0\xaf', 1)
    return raw


def _path(template: str) -> str:
    for name, value in PLACEHOLDER.items():
        template = template.replace("{" + name + "}", value)
    return template


def _counts(ddb, tables):
    return [ddb.describe_table(TableName=t)["Table"]["ItemCount"] for t in tables]


@pytest.fixture(scope="module")
def tables(fuzz_stack):
    from chalicelib import config
    from chalicelib.aws import clients
    return clients.dynamodb(), [config.table_name(), config.idempotency_table_name()]


@pytest.mark.parametrize("method,path", OPERATIONS)
def test_hostile_bodies_never_make_a_500(fuzz_stack, fences, tables, method, path):
    ddb, names = tables
    session = requests.Session()
    headers = {"Authorization": f"Bearer {fuzz_stack.api_key}", "Content-Type": "application/json"}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(raw=hostile_bodies())
    def run(raw):
        before = _counts(ddb, names)
        r = session.request(method, fuzz_stack.base_url + _path(path), data=raw, headers=headers, timeout=30)
        where = f"{method} {path} -> {r.status_code}\n  body sent: {raw[:300]!r}\n  answer: {r.text[:300]}"
        assert r.status_code < 500, where
        json.loads(r.text, parse_constant=lambda c: pytest.fail(f"{c} in a response: {where}"))
        if (method, path) not in READS_BODY:
            return
        if r.status_code == 202 and path.endswith("publish-batch"):
            assert r.json()["rejected"] >= 1, where     # the hostile message failed in its own slot
            return
        assert 400 <= r.status_code < 500, where
        error = r.json()["error"]
        assert error["code"] and error["message"] and "field" in error, where
        assert _counts(ddb, names) == before, f"a refused request changed the tables: {where}"
    run()
    assert not fences, f"a connection tried to leave this machine: {fences}"


@pytest.mark.parametrize("method,path", [("GET", "/v1/nope"), ("POST", "/v1/scheduling/nope/x"),
                                         ("GET", "/"), ("DELETE", "/v1/scheduling")])
def test_an_unknown_route_is_a_404_in_our_shape_echoing_nothing(fuzz_stack, method, path):
    key = fuzz_stack.api_key
    r = requests.request(method, fuzz_stack.base_url + path, timeout=30,
                         headers={"Authorization": f"Bearer {key}", "X-Probe": "probe-value-123"})
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json", r.text
    error = r.json()["error"]
    assert error["code"] == "not_found" and error["field"] is None
    assert key not in r.text and key[-12:] not in r.text and "probe-value" not in r.text
