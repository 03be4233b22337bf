"""Bad input, everywhere (issue 8): every operation of chalicelib/openapi.json, fuzzed by
schemathesis against the local stack over real HTTP, with the stack's own key.

For every generated request:
  * never a 5xx;
  * every 4xx carries `{"error": {"code": "...", "message": "..."}}` (non-empty strings);
  * the status is documented and the body matches its schema (schemathesis's own checks, and
    tests/schema_check.py, the validator every other test uses);
  * a request the API refuses (4xx) changed nothing: both DynamoDB tables (data and
    idempotency) are read in full before and after, item by item; a 2xx may add or change records;
  * data that breaks the spec is refused (schemathesis's `negative_data_rejection`).
And, for every operation that needs a key, requests with no key, a malformed one and an
unknown one get 401 with the error body and change nothing.

Scale with FUZZ_EXAMPLES (total generated cases across all operations, default 1,000): `make fuzz`
runs 10,000. The run is derandomized, so a failure reproduces with the same FUZZ_EXAMPLES.
Nothing leaves this machine: see conftest.py."""
import json
import math
import os
import threading

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi import checks as sc

from tests import schema_check
from tests.fuzz.conftest import tally

TOTAL = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
SPEC = json.loads(schema_check.SPEC_PATH.read_text(encoding="utf-8"))
OPERATIONS = [(m.upper(), p) for p, item in SPEC["paths"].items() for m in item
              if m in ("get", "put", "post", "patch", "delete")]
# Operations with nothing to vary (no parameters, no body) give hypothesis one distinct case;
# the examples they leave unused go to the others, so the run reaches TOTAL.
PER_OPERATION = max(5, math.ceil(TOTAL * 1.15 / len(OPERATIONS)))
CHECKS = [sc.status_code_conformance, sc.content_type_conformance, sc.response_schema_conformance,
          sc.negative_data_rejection]
SETTINGS = settings(max_examples=PER_OPERATION, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large,
                                           # `counted`: set up once per operation, on purpose
                                           HealthCheck.function_scoped_fixture], print_blob=True,
                    # FUZZ_SHRINK=0: report failures as found, unshrunk (faster when there are many)
                    phases=[p for p in Phase if os.environ.get("FUZZ_SHRINK") != "0" or p != Phase.shrink])


class StateWatch:
    """What one request changed, measured two ways (a full Scan per case is far too slow on moto):

    * every AWS call the process makes passes through botocore's one entry point, which this
      wraps while a request is in flight: before a DynamoDB write (Put/Update/Delete, batch or
      transaction) the item it touches is read as it was; after the request each touched item is
      read again. A refused request must leave each of them as it was (a write undone, like
      Powertools' in-progress idempotency record, nets to nothing and is fine). SQS sends and
      Scheduler writes are recorded as they are (a refused request must make none);
    * and, as a net under that, the item counts of both tables (DescribeTable, live on moto), at
      the start and at the end of each operation's test: they must have moved by exactly what the
      per-item reads saw added and removed, so no write got past the wrapper. (Once per request,
      two DescribeTables cost three quarters of the fuzzing's time; once per operation they catch
      the same writes, only without naming the request.)"""

    DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
    OTHER_WRITES = {"sqs": {"SendMessage", "SendMessageBatch", "DeleteMessage", "PurgeQueue"},
                    "scheduler": {"CreateSchedule", "UpdateSchedule", "DeleteSchedule"}}

    def __init__(self):
        from botocore.client import BaseClient

        from chalicelib import config
        from chalicelib.aws import clients
        self.ddb = clients.dynamodb()
        self.tables = [config.table_name(), config.idempotency_table_name()]
        self._key_names: dict = {}
        self._lock = threading.Lock()
        self.active = False
        self.originals: dict = {}    # (table, key json) -> (key, item before or None)
        self.others: list = []
        self.net: dict = {t: 0 for t in self.tables}   # items added minus removed, as the reads saw them
        self._mp = pytest.MonkeyPatch()
        self._original_call = original = BaseClient._make_api_call
        watch = self

        def _make_api_call(client, operation, params):
            if watch.active:
                watch._before(client, operation, params)
            return original(client, operation, params)
        self._mp.setattr(BaseClient, "_make_api_call", _make_api_call)

    def close(self):
        self._mp.undo()

    def _raw(self, operation, params):
        return self._original_call(self.ddb, operation, params)

    def _key(self, table, item):
        if table not in self._key_names:
            schema = self._raw("DescribeTable", {"TableName": table})["Table"]["KeySchema"]
            self._key_names[table] = [k["AttributeName"] for k in schema]
        return {k: item[k] for k in self._key_names[table] if k in item}

    def _touched(self, operation, params):
        if operation in ("PutItem",):
            yield params["TableName"], self._key(params["TableName"], params["Item"])
        elif operation in ("UpdateItem", "DeleteItem"):
            yield params["TableName"], params["Key"]
        elif operation == "BatchWriteItem":
            for table, requests_ in params["RequestItems"].items():
                for r in requests_:
                    if "PutRequest" in r:
                        yield table, self._key(table, r["PutRequest"]["Item"])
                    else:
                        yield table, r["DeleteRequest"]["Key"]
        elif operation == "TransactWriteItems":
            for t in params["TransactItems"]:
                for kind, spec in t.items():
                    if kind == "Put":
                        yield spec["TableName"], self._key(spec["TableName"], spec["Item"])
                    elif kind in ("Update", "Delete"):
                        yield spec["TableName"], spec["Key"]

    def _before(self, client, operation, params):
        service = client.meta.service_model.service_name
        if service == "dynamodb" and operation in self.DDB_WRITES:
            with self._lock:
                for table, key in self._touched(operation, params):
                    ident = (table, json.dumps(key, sort_keys=True))
                    if ident not in self.originals:
                        item = self._raw("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True})
                        self.originals[ident] = (key, item.get("Item"))
        elif operation in self.OTHER_WRITES.get(service, ()):
            with self._lock:
                self.others.append(f"{service}:{operation} {json.dumps(params, default=str)[:200]}")

    def counts(self):
        return [self._raw("DescribeTable", {"TableName": t})["Table"]["ItemCount"] for t in self.tables]

    def start(self):
        self.originals, self.others = {}, []
        self.active = True

    def stop(self) -> list[str]:
        """What the request changed, one line per item (empty: nothing)."""
        self.active = False
        out = []
        for (table, _), (key, was) in self.originals.items():
            now = self._raw("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")
            if table in self.net:
                self.net[table] += (now is not None) - (was is not None)
            if now != was:
                how = "added" if was is None else "removed" if now is None else "changed"
                out.append(f"{how} {table} {json.dumps(key)}: before={json.dumps(was, default=repr)[:300]} "
                           f"after={json.dumps(now, default=repr)[:300]}")
        return out + self.others


class Fuzz:
    """One request at a time (the state check needs it): call, read the state, check. `tally`
    (conftest.py) adds up what was sent, across xdist workers."""

    def __init__(self, stack, tally):
        self.stack, self.tally = stack, tally
        self.session = requests.Session()
        self.auth = {"Authorization": f"Bearer {stack.api_key}"}
        self.watch = StateWatch()
        self.lock = threading.Lock()

    def run(self, case, headers=None, checks=True):
        with self.lock:
            self.watch.start()
            try:
                response = case.call(base_url=self.stack.base_url, session=self.session,
                                     headers=self.auth if headers is None else headers, timeout=30,
                                     allow_redirects=False)
            finally:
                changes = self.watch.stop()
            self.tally["requests"] += 1
            self.tally["fuzzed"] += headers is None   # authenticated, generated cases (the 401 test adds its own)
            self.tally["by_status"][response.status_code] = self.tally["by_status"].get(response.status_code, 0) + 1
        where = f"{case.method} {case.formatted_path} -> {response.status_code}"
        sent = _describe(case, response)
        assert response.status_code < 500, f"{where}: a server error\n{sent}"
        if 400 <= response.status_code < 500:
            _assert_error_body(response, where, sent)
            assert not changes, (f"{where}: a refused request changed the state:\n    "
                                 + "\n    ".join(changes) + f"\n{sent}")
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        try:
            schema_check.check(case.method, case.formatted_path, response.status_code, body)
        except schema_check.SchemaMismatch as e:
            raise AssertionError(f"{e}\n{sent}") from None
        if checks:
            case.validate_response(response, checks=CHECKS)
        return response


@pytest.fixture
def counted(fuzz):
    """The net under the per-item check, once per operation's test (see StateWatch)."""
    watch = fuzz.watch
    start, net0 = watch.counts(), dict(watch.net)
    yield
    expected = [n + watch.net[t] - net0[t] for n, t in zip(start, watch.tables)]
    now = watch.counts()
    assert now == expected, (f"item counts (data, idempotency) went from {start} to {now}, but the requests' "
                             f"own writes account for {expected}: a write got past the per-item check")


def _assert_error_body(response, where, sent):
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{where}: a 4xx without a JSON body: {response.text[:300]!r}\n{sent}") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"{where}: a 4xx without the error object: {body!r:.300}\n{sent}"
    for name in ("code", "message"):
        assert isinstance(error.get(name), str) and error[name].strip(), \
            f"{where}: error.{name} is missing or empty: {body!r:.300}\n{sent}"


def _describe(case, response) -> str:
    req = response.request
    body = req.body if isinstance(req.body, (bytes, type(None))) else str(req.body).encode()
    headers = {k: v for k, v in req.headers.items() if k.lower() != "authorization"}
    return (f"  request: {req.method} {req.url}\n  headers: {headers}\n"
            f"  body: {(body or b'')[:600]!r}\n  response: {response.status_code} {response.text[:600]}")


# ---------------------------------------------------------------- seeds: ids that exist

@pytest.fixture(scope="session")
def fuzz(fuzz_stack, request):
    f = Fuzz(fuzz_stack, tally(request.config))
    yield f
    f.watch.close()


@pytest.fixture(scope="session")
def known_ids(fuzz_stack, fuzz):
    """Real resources of the stack's project, so generated requests reach past 'not found'.
    Each operation that destroys gets its own victims (DELETE); the rest share the others."""
    from chalicelib.aws import keys, store

    s, base = fuzz.session, fuzz_stack.base_url
    auth = fuzz.auth

    def call(method, path, body=None):
        r = s.request(method, base + path, json=body, headers=auth, timeout=30)
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json()

    ids = {"cron_id": [], "name": [], "message_id": [], "delivery_id": [], "key_id": [], "replay_id": [],
           "delete:cron_id": [], "delete:name": []}
    for label in ("a", "b", "victim-1", "victim-2"):
        job = call("POST", "/v1/scheduling/cron", {"name": f"seed {label}", "schedule": "*/5 * * * *",
                                                   "url": "http://127.0.0.1:9/seed", "payload": {"n": 1}})
        ids["delete:cron_id" if label.startswith("victim") else "cron_id"].append(job["cron_id"])
    for name in ("seed-q", "seed-held", "victim-q1", "victim-q2"):
        call("PUT", f"/v1/scheduling/queue/{name}",
             {"url": "http://127.0.0.1:9/q"} if name == "seed-q" else {})
        ids["delete:name" if name.startswith("victim") else "name"].append(name)
    for name in ("seed-held", "seed-q"):
        for _ in range(2):
            ids["message_id"].append(call("POST", "/v1/scheduling/queue/publish",
                                          {"queue": name, "payload": {"x": 1}})["message_id"])
    for _ in range(2):
        ids["delivery_id"].append(call("POST", "/v1/scheduling/webhook/send",
                                       {"url": "http://127.0.0.1:9/w", "payload": {"x": 1}})["delivery_id"])
    # one failed webhook delivery and one failed message, so "retry" has something to retry
    for delivery_id in (ids["delivery_id"][0], ids["message_id"][-1]):
        record = store.get(*keys.delivery(delivery_id))
        store.update(record["pk"], record["sk"], {
            "state": "failed", "next_attempt_at": None,
            "gsi2pk": keys.deliveries_in_state(record["project_id"], record["kind"], "failed")})
    ids["replay_id"].append(call("POST", "/v1/scheduling/deliveries/replay", {})["replay_id"])
    # a spare key the fuzzer may revoke (never the stack's own: the run needs it)
    ids["key_id"].append(call("POST", "/v1/auth/keys")["key_id"])
    return ids


def _load_schema():
    """The spec file (a test below checks it is what the stack serves); the stack's address is
    given at each call, so nothing here depends on a running stack at collection time."""
    config = schemathesis.Config()
    project = config.projects.default
    project.update(request_timeout=30)
    # failures show what was sent (idempotency keys included); only the API key is masked
    from schemathesis.config._output import SanitizationConfig
    config.output.sanitization = SanitizationConfig(keys_to_sanitize=("authorization",), sensitive_markers=())
    project.generation.update(with_security_parameters=False, deterministic=True,
                              max_examples=PER_OPERATION)
    return schemathesis.openapi.from_path(str(schema_check.SPEC_PATH), config=config)


schema = _load_schema()
KNOWN: dict = {}   # filled by the `seeded` fixture before the first case is drawn


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, a path parameter that names a resource that exists."""
    if not path_parameters:
        return st.just(path_parameters)
    method = context.operation.method.lower()
    options = [path_parameters]
    for name in path_parameters:
        pool = KNOWN.get(f"{method}:{name}") or KNOWN.get(name) or []
        options += [{**path_parameters, name: value} for value in pool]
    return st.one_of(st.just(path_parameters), st.sampled_from(options))


@pytest.fixture(scope="session")
def seeded(known_ids):
    KNOWN.update(known_ids)
    return KNOWN


# ---------------------------------------------------------------- the fuzzing

def test_the_stack_serves_this_spec(fuzz_stack):
    served = requests.get(fuzz_stack.base_url + "/v1/openapi.json", timeout=30)
    assert served.status_code == 200 and served.json() == SPEC

@schema.parametrize()
@SETTINGS
def test_every_operation_survives_bad_input(case, fuzz, seeded, fences, counted):
    fuzz.run(case)
    assert not fences, f"a connection tried to leave this machine: {fences}"


NEEDS_KEY = [(m, p) for m, p in OPERATIONS
             if SPEC["paths"][p][m.lower()].get("security", SPEC.get("security")) not in ([], [{}])]
BAD_AUTH = [
    None,                                                   # no header at all
    "",                                                     # empty
    "Bearer",                                               # no token
    "Basic dXNlcjpwYXNz",                                   # another scheme
    "Bearer ifr_pk_proj_short",                             # malformed key
    "Bearer ifr_pk_proj_" + "A" * 40,                       # well-formed, unknown
    "bearer  ifr_pk_proj_" + "B" * 40,                      # double space
    "Bearer ifr_pk_proj_" + "C" * 40 + "\t",                # trailing junk
]


@schema.parametrize()
@settings(SETTINGS, max_examples=max(3, PER_OPERATION // 10))
def test_no_or_bad_key_is_401_and_changes_nothing(case, fuzz, seeded, fences, counted):
    if (case.method.upper(), case.path) not in NEEDS_KEY:
        return
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.headers = headers
    for value in BAD_AUTH:
        sent = dict(headers, **({} if value is None else {"Authorization": value}))
        response = fuzz.run(case, headers=sent, checks=False)
        declared = next((v for k, v in headers.items() if k.lower() == "content-type"), "application/json")
        if response.status_code == 415 and declared.split(";")[0].strip().lower() != "application/json":
            # a body not declared JSON is refused before the key is looked at (issue 24): as good
            assert response.json()["error"]["code"] == "unsupported_media_type"
            continue
        assert response.status_code == 401, \
            f"{case.method} {case.formatted_path} with Authorization={value!r}: {response.status_code} {response.text[:300]}"
        assert response.json()["error"]["code"] == "unauthorized"
    assert not fences, f"a connection tried to leave this machine: {fences}"


# ---------------------------------------------------------------- what the fuzzer found, pinned
# Each test below is one finding, as the smallest request that shows it (see the report in
# issue 8). They fail until the application is fixed; the fuzzing above finds them too.

def _req(stack, method, path, auth=True, **kw):
    headers = {**({"Authorization": f"Bearer {stack.api_key}"} if auth else {}), **kw.pop("headers", {})}
    return requests.request(method, stack.base_url + path, headers=headers, timeout=30, **kw)


def _our_error(r) -> bool:
    try:
        e = r.json().get("error")
    except (ValueError, AttributeError):
        return False
    return isinstance(e, dict) and bool(e.get("code")) and bool(e.get("message"))


def test_found_an_unlisted_content_type_gets_chalices_415_not_our_error(fuzz_stack):
    """An empty body needs no Content-Type, whatever it says; except activation, the one route
    that needs no key, which refuses what a cross-site form can send (our 415, docs/api.md)."""
    bad = []
    for method, path in OPERATIONS:
        r = _req(fuzz_stack, method, path.replace("{", "x").replace("}", ""),
                 headers={"Content-Type": "multipart/form-data"}, data=b"")
        refused = (method, path) == ("POST", "/v1/auth/activate")
        if r.status_code >= 400 and not _our_error(r) or (r.status_code == 415) != refused:
            bad.append(f"{method} {path} -> {r.status_code} {r.text[:80]}")
    assert not bad, "\n".join(bad)


def test_found_an_unrouted_method_gets_chalices_405_or_a_501(fuzz_stack):
    bad = []
    for method, path in [("PUT", "/v1/health"), ("PATCH", "/v1/auth/me"), ("TRACE", "/v1/health"),
                         ("TRACE", "/v1/scheduling/cron")]:
        r = _req(fuzz_stack, method, path)
        if r.status_code >= 500 or not _our_error(r):
            bad.append(f"{method} {path} -> {r.status_code} {r.text[:80]!r}")
    assert not bad, "\n".join(bad)


def test_found_a_bad_body_without_a_key_is_400_not_401(fuzz_stack):
    r = _req(fuzz_stack, "POST", "/v1/scheduling/cron", auth=False, data=b"")
    assert r.status_code == 401, r.text


def test_found_a_null_idempotency_key_in_the_body_hides_the_header(fuzz_stack):
    body = {"queue": "found-null-key", "payload": {}, "idempotency_key": None}
    first = _req(fuzz_stack, "POST", "/v1/scheduling/queue/publish", json=body, headers={"Idempotency-Key": "k-null-1"})
    again = _req(fuzz_stack, "POST", "/v1/scheduling/queue/publish", json=body, headers={"Idempotency-Key": "k-null-1"})
    assert first.status_code == 400 or first.json() == again.json(), \
        f"two messages for one Idempotency-Key: {first.text} / {again.text}"


@pytest.mark.parametrize("key", ["", "k" * 300])
def test_found_the_idempotency_key_header_is_not_checked_on_trigger_and_retry(fuzz_stack, key):
    job = _req(fuzz_stack, "POST", "/v1/scheduling/cron", json={
        "name": "found", "schedule": "0 0 1 1 *", "url": "http://127.0.0.1:9/", "enabled": False}).json()
    r = _req(fuzz_stack, "POST", f"/v1/scheduling/cron/{job['cron_id']}/trigger", headers={"Idempotency-Key": key})
    assert r.status_code == 400 and _our_error(r), f"Idempotency-Key of {len(key)} characters: {r.status_code} {r.text[:200]}"


@pytest.mark.parametrize("key", [12345, "k" * 300])
def test_found_patch_cron_takes_any_idempotency_key(fuzz_stack, key):
    job = _req(fuzz_stack, "POST", "/v1/scheduling/cron", json={
        "name": "found", "schedule": "0 0 1 1 *", "url": "http://127.0.0.1:9/", "enabled": False}).json()
    r = _req(fuzz_stack, "PATCH", f"/v1/scheduling/cron/{job['cron_id']}", json={"name": "n", "idempotency_key": key})
    assert r.status_code == 400 and _our_error(r), f"idempotency_key={key!r:.40}: {r.status_code} {r.text[:200]}"
