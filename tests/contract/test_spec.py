"""The OpenAPI document is the API: every route has its operation and every operation its route,
the document is valid OpenAPI 3.1, it is served, the response checker catches a mismatch, and both
SDKs' route tables are the spec's operations."""
import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from tests import schema_check

ROOT = Path(__file__).resolve().parents[2]
METHODS = {"get", "post", "put", "patch", "delete"}


def spec_operations() -> dict:
    """operationId -> (METHOD, path)"""
    return {op["operationId"]: (method.upper(), path)
            for path, item in schema_check.spec()["paths"].items()
            for method, op in item.items() if method in METHODS}


def test_the_document_is_valid_openapi_3_1():
    spec = schema_check.spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_route_has_an_operation_and_every_operation_a_route():
    from app import app
    from chalicelib.api import console
    # the console's static files are pages, not API operations (chalicelib/api/console.py)
    routes = {(path, method.upper()) for path, entries in app.routes.items() for method in entries
              if path != console.PREFIX and not path.startswith(console.PREFIX + "/")}
    documented = {(path, method) for method, path in spec_operations().values()}
    assert routes - documented == set(), "routes without an operation in chalicelib/openapi.json"
    assert documented - routes == set(), "operations in chalicelib/openapi.json without a route"


def test_operation_ids_are_unique():
    ids = [op["operationId"] for item in schema_check.spec()["paths"].values()
           for m, op in item.items() if m in METHODS]
    assert len(ids) == len(set(ids))


def test_every_operation_documents_its_success_and_errors():
    spec = schema_check.spec()
    public = {"/v1/health", "/v1/openapi.json", "/v1/auth/activate"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            ok = [c for c in codes if c.startswith("2")]
            assert len(ok) == 1, (method, path)
            assert op["responses"][ok[0]]["content"]["application/json"]["schema"], (method, path)
            for code in codes - set(ok):
                assert op["responses"][code]["$ref"].startswith("#/components/responses/"), (method, path, code)
            if path in public:
                assert op["security"] == [], path
            else:
                assert "security" not in op and {"401", "429", "500", "503"} <= codes, (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= codes, (method, path)
            if "{" in path and method != "put":   # PUT creates the queue it names
                assert "404" in codes, (method, path)
    assert spec["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"] == {**spec["components"]["securitySchemes"]["bearer"],
                                                               "type": "http", "scheme": "bearer"}


def test_request_bounds_are_the_validators():
    """A few numbers that must move together with chalicelib (the validators are the truth)."""
    from chalicelib.core import schedules, validation
    from chalicelib.services.cron import cron_fields
    from chalicelib.services.queues import messages, queues
    from chalicelib.services.webhooks import webhooks
    # shared shapes (CircuitBreaker, Retries, QueueName, ...) are read where each field uses them
    s = schema_check.inlined(schema_check.spec()["components"]["schemas"])
    assert s["CronCreate"]["properties"]["retries"]["maximum"] == cron_fields.MAX_RETRIES
    assert s["CronCreate"]["properties"]["timeout_seconds"]["maximum"] == cron_fields.MAX_TIMEOUT
    assert s["CronCreate"]["properties"]["name"]["maxLength"] == cron_fields.MAX_NAME
    assert s["CronCreate"]["properties"]["schedule"]["maxLength"] == schedules.MAX_LENGTH
    assert set(s["CronCreate"]["properties"]) == set(cron_fields.FIELDS)
    assert s["CronCreate"]["properties"]["catch_up_window_seconds"]["maximum"] == cron_fields.MAX_CATCH_UP_WINDOW
    from chalicelib.services.cron import cron_catchup
    assert s["CronBackfillResult"]["properties"]["runs"]["maximum"] == cron_catchup.MAX_BACKFILL_RUNS
    assert set(s["WebhookSend"]["properties"]) == set(webhooks.SEND_FIELDS)
    assert s["WebhookSend"]["properties"]["delay_seconds"]["maximum"] == webhooks.MAX_DELAY
    assert s["WebhookSend"]["properties"]["headers"]["maxProperties"] == validation.MAX_EXTRA_HEADERS
    assert set(s["QueuePublish"]["properties"]) == set(queues.PUBLISH_FIELDS)
    assert s["QueuePublish"]["properties"]["delay_seconds"]["maximum"] == messages.MAX_DELAY
    assert s["QueuePublishBatch"]["properties"]["messages"]["maxItems"] == messages.MAX_BATCH
    assert set(s["QueuePut"]["properties"]) == set(queues.QUEUE_FIELDS)
    assert set(s["QueuePublish"]["properties"]["queue"]["not"]["enum"]) == queues.RESERVED
    # JSON Schema patterns search (so ^...$, where ECMA's $ is the very end); Python fullmatches
    assert s["QueuePublish"]["properties"]["queue"]["pattern"] == f"^{queues.NAME_RE.pattern}$"
    assert s["CronCreate"]["properties"]["idempotency_key"]["maxLength"] == validation.MAX_IDEMPOTENCY_KEY
    from chalicelib.services.delivery import deliveries
    assert set(deliveries.STATES) <= set(s["Delivery"]["properties"]["state"]["enum"])
    from chalicelib.core import breaker, flow_limits
    rate = s["QueuePut"]["properties"]["rate_limit"]["properties"]
    assert rate["count"]["maximum"] == flow_limits.MAX_COUNT
    assert (rate["period_seconds"]["minimum"], rate["period_seconds"]["maximum"]) == (flow_limits.MIN_PERIOD,
                                                                                    flow_limits.MAX_PERIOD)
    assert s["QueuePut"]["properties"]["parallelism"]["maximum"] == flow_limits.MAX_PARALLELISM
    assert s["FlowPut"]["properties"] == {k: s["QueuePut"]["properties"][k] for k in flow_limits.FIELDS}
    cb = s["QueuePut"]["properties"]["circuit_breaker"]["properties"]
    assert {k: (v["minimum"], v["maximum"]) for k, v in cb.items()} == breaker.BOUNDS
    assert {k: v["default"] for k, v in cb.items()} == breaker.DEFAULTS
    from chalicelib.core import retry_policy
    from chalicelib.services.delivery import delivery_list
    from chalicelib.services.notices import events
    _, presets, gaps = s["RetrySchedule"]["oneOf"]
    assert tuple(presets["enum"]) == retry_policy.PRESETS and gaps["maxItems"] == retry_policy.MAX_GAPS
    assert gaps["items"]["maximum"] == retry_policy.MAX_TOTAL
    assert tuple(s["EventsConfig"]["properties"]["event_types"]["items"]["enum"]) == events.TYPES
    assert tuple(s["DeliverySummary"]["properties"]["kind"]["enum"]) == delivery_list.KINDS


def test_project_settings_and_expunge_shapes_are_the_services():
    from chalicelib.services.expunge import expunge, sweep
    from chalicelib.services.tenancy import retention, settings
    s = schema_check.inlined(schema_check.spec()["components"]["schemas"])
    days = s["RetentionDays"]["properties"]
    assert set(days) == set(retention.DEFAULTS)
    assert {(d["minimum"], d["maximum"]) for d in days.values()} == {retention.BOUNDS}
    assert set(s["ProjectSettingsUpdate"]["properties"]) == set(settings.SETTINGS) \
        == set(s["ProjectSettings"]["properties"])
    assert set(s["ExpungeStart"]["properties"]) == set(expunge.FIELDS)
    assert s["Expunge"]["properties"]["phase"]["enum"] == ["keys", *sweep.NAMES, None]
    assert tuple(s["Expunge"]["properties"]["deleted"]["required"]) == sweep.COUNTED


def test_the_document_is_served_without_a_key():
    from chalice.test import Client

    from app import app
    with Client(app) as client:
        resp = client.http.get("/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert json.loads(resp.body) == schema_check.spec()


def test_the_checker_catches_a_mismatch():
    schema_check.check("GET", "/v1/health", 200, {"status": "ok"})
    schema_check.check("GET", "/v1/scheduling/queue/q1?limit=3", 404,
                       {"error": {"code": "not_found", "message": "No queue", "field": "name"}})
    with pytest.raises(schema_check.SchemaMismatch, match="does not match"):
        schema_check.check("GET", "/v1/scheduling/cron/cron_01ARZ3NDEKTSV4RRFFQ69G5FAV", 200, {"cron_id": "x"})
    with pytest.raises(schema_check.SchemaMismatch, match="not documented"):
        schema_check.check("GET", "/v1/health", 418, {"error": {"code": "teapot", "message": "no"}})
    with pytest.raises(schema_check.SchemaMismatch):
        schema_check.check("POST", "/v1/scheduling/webhook/send", 400, {"message": "not our error body"})
    # literal segments win over templates, as in the router
    assert schema_check.find_operation("POST", "/v1/scheduling/queue/publish")[1]["operationId"] == "scheduling.queue.publish"
    assert schema_check.find_operation("GET", "/v1/scheduling/queue/messages/msg_1")[1]["operationId"] == "scheduling.queue.message"
    assert schema_check.find_operation("GET", "/v1/nowhere") is None


def test_the_python_sdk_routes_are_the_spec():
    infrai = pytest.importorskip("infrai", reason="pip install -e ./sdk/python (requirements-dev.txt)")
    assert {op: tuple(route) for op, route in infrai.ROUTES.items()} == spec_operations()


def test_the_python_sdk_calls_only_operations_of_its_table():
    source = "\n".join(p.read_text() for p in (ROOT / "sdk/python/src/infrai").glob("*.py"))
    # resources call `self._call("op", ...)`, activation its connection's `.call("auth.activate", ...)`
    used = set(re.findall(r'\b_?call\(\s*"([\w.]+)"', source))
    assert used and used <= set(spec_operations()), used - set(spec_operations())
    assert used == set(spec_operations()), set(spec_operations()) - used


def typescript_routes() -> dict:
    source = (ROOT / "sdk/typescript/src/routes.ts").read_text()
    body = source[source.index("export const ROUTES"):source.index("} as const")]
    return {op: (method, path) for op, method, path in
            re.findall(r'"([\w.]+)":\s*\{\s*method:\s*"(\w+)",\s*path:\s*"([^"]+)"\s*\}', body)}


def test_the_typescript_sdk_routes_are_the_spec():
    assert typescript_routes() == spec_operations()
    for key in ("scheduling.cron.create", "scheduling.cron.list", "scheduling.queue.publish", "scheduling.webhook.send"):
        assert key in typescript_routes()


def test_the_typescript_sdk_calls_only_operations_of_its_table():
    source = "\n".join(p.read_text() for p in (ROOT / "sdk/typescript/src").glob("*.ts"))
    used = set(re.findall(r'call(?:<\w+>)?\(\s*"([\w.]+)"', source))
    assert used == set(spec_operations()), set(spec_operations()) ^ used
