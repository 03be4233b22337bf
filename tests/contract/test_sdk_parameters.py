"""The SDKs name things as the API does: every parameter of an SDK method is a field of its
operation's request body, query or path (by the same name), and every field the API takes has an
SDK parameter. The only other names allowed are the seed's own spellings, listed in SEED_NAMES.

Python: read from the methods' signatures (the operation each calls is read from its source).
TypeScript: read from the option interfaces in sdk/typescript/src/types/*.ts and the methods of the
resource files (sdk/typescript/src/cron.ts, queue.ts, …) that take them."""
import inspect
import re
from pathlib import Path

import pytest

from tests import schema_check

ROOT = Path(__file__).resolve().parents[2]
TS_SRC = ROOT / "sdk" / "typescript" / "src"
METHODS = {"get", "post", "put", "patch", "delete"}

# The seed's Python signature (scheduling-api.en.md): `infra.cron.create(cron_expr, task, *, retry=3, ...)`.
# `cron_expr` and `task` stand for the fields they name; `retry` is only ever an extra spelling:
# a method that takes `retries` from the API must take `retries` too.
SEED_NAMES = {"cron_expr": {"schedule"}, "task": {"url", "queue"}, "retry": {"retries"}}
SEED_POSITIONAL = {"cron_expr", "task"}


def operations() -> dict:
    """operationId -> {"method", "path", "body": set, "query": set, "path_params": set, "headers": set}
    (`headers`: header parameters named like fields, e.g. `traceparent`; Idempotency-Key is the
    `idempotency_key` body field's other spelling)"""
    spec = schema_check.spec()
    schemas = spec["components"]["schemas"]
    out = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            body = set(schemas[ref["$ref"].rsplit("/", 1)[1]]["properties"]) if "$ref" in ref else set()
            params = schema_check.inlined(op.get("parameters", []))   # shared ones too (PageLimit, ...)
            out[op["operationId"]] = {
                "method": method.upper(), "path": path, "body": body,
                "query": {p["name"] for p in params if p["in"] == "query"},
                "path_params": {p["name"] for p in params if p["in"] == "path"},
                "headers": {p["name"] for p in params if p["in"] == "header" and p["name"].isidentifier()},
            }
    return out


# -- Python ------------------------------------------------------------------------------------

def python_methods():
    from infrai import Infrai
    client = Infrai(api_key="ifr_pk_proj_" + "a" * 40, base_url="http://127.0.0.1:9", credentials_file="/nonexistent")
    for group in ("cron", "queue", "webhook", "auth", "deliveries", "flows", "endpoints", "events", "topics"):
        resource = getattr(client, group)
        for name, fn in inspect.getmembers(resource, inspect.ismethod):
            if name.startswith("_"):
                continue
            found = re.findall(r'_call\(\s*"([\w.]+)"', inspect.getsource(fn))
            assert len(found) == 1, f"infra.{group}.{name} should call exactly one operation"
            yield f"{group}.{name}", fn, found[0]


PY_METHODS = list(python_methods())


def test_every_python_method_is_checked():
    ops = {op for _, _, op in PY_METHODS}
    # every operation but health/openapi/activate (Infrai's own methods) has an infra.<group> method
    assert set(operations()) - ops == {"health.get", "openapi.get", "auth.activate"}


@pytest.mark.parametrize("label,fn,op", PY_METHODS, ids=[m[0] for m in PY_METHODS])
def test_python_parameters_are_the_api_fields(label, fn, op):
    spec = operations()[op]
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind is not p.VAR_KEYWORD]
    assert not [p for p in inspect.signature(fn).parameters.values() if p.kind is p.VAR_KEYWORD], \
        f"{label} takes **kwargs: its names cannot be checked"
    fields = spec["body"] | spec["query"] | spec["headers"]
    names = {p.name for p in params}
    # the path parameter is the method's first positional argument (its name may be shorter: `name`)
    if spec["path_params"]:
        first = params[0]
        assert first.kind is first.POSITIONAL_OR_KEYWORD and first.name not in fields, label
        names.discard(first.name)
    unknown = {n for n in names - fields if not (SEED_NAMES.get(n, set()) & fields)}
    assert not unknown, f"{label}: parameters {sorted(unknown)} are not fields of {op} ({sorted(fields)})"
    covered = names | {f for n in names & SEED_POSITIONAL for f in SEED_NAMES[n]}
    wanted = set(fields)
    if spec["method"] != "POST":   # the SDKs send an Idempotency-Key on POSTs only
        wanted.discard("idempotency_key")
    assert wanted <= covered, f"{label}: no parameter for {sorted(wanted - covered)}"


def test_python_accepts_the_seed_spelling_and_sends_the_api_name():
    from infrai import Infrai
    sent = []

    class Capture:
        def request(self, method, url, *, headers, params, json_body):
            sent.append(json_body)
            return {}
    c = Infrai(api_key="ifr_pk_proj_" + "a" * 40, base_url="http://127.0.0.1:9", transport=Capture())
    c.queue.create("q", "https://example.com/x", retries=0)
    c.queue.create("q", "https://example.com/x", retry=2)
    c.cron.create("0 9 * * *", "q", retry=1)
    c.cron.create("0 9 * * *", "q", retries=4)
    c.webhook.send("https://example.com/x", {}, retries=5)
    assert [b["retries"] for b in sent] == [0, 2, 1, 4, 5]
    with pytest.raises(TypeError, match="not both"):
        c.queue.create("q", retries=1, retry=2)


# -- TypeScript --------------------------------------------------------------------------------

def ts_types() -> str:
    """Every type file of the SDK (src/types.ts re-exports them from src/types/)."""
    return "\n".join(f.read_text() for f in sorted((TS_SRC / "types").glob("*.ts")))


def ts_interfaces() -> dict:
    """interface name -> its property names, from types/*.ts (properties at the top level only)."""
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", ts_types(), flags=re.S)
    out = {}
    for m in re.finditer(r"export interface (\w+)(?:\s+extends\s+([\w, ]+))?\s*\{", text):
        depth, i, start = 1, m.end(), m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body, flat, depth = text[start:i - 1], [], 0
        for ch in body:   # keep only depth-0 text
            depth += {"{": 1, "}": -1, "<": 1, ">": -1}.get(ch, 0) if ch in "{}<>" else 0
            flat.append(ch if depth == 0 else " ")
        props = set(re.findall(r"(?:^|[;\n])\s*(\w+)\??\s*:", "".join(flat)))
        for parent in (m.group(2) or "").split(","):
            props |= out.get(parent.strip(), set())
        out[m.group(1)] = props
    return out


def ts_sources() -> str:
    """Every source file of the TypeScript SDK: the methods live in one file per resource."""
    return "\n".join(p.read_text() for p in sorted(TS_SRC.glob("*.ts")))


# operation -> (the method signature that must appear in a resource file, the interfaces it takes, positional body fields)
TS_METHODS = {
    "scheduling.cron.create": ("create(opts: CronOptions)", ["CronOptions"], set()),
    "scheduling.cron.update": ("update(cronId: string, changes: CronUpdate)", ["CronUpdate"], set()),
    "scheduling.cron.list": ("list(opts: PageOptions = {})", ["PageOptions"], set()),
    "scheduling.cron.runs": ("runs(cronId: string, opts: PageOptions = {})", ["PageOptions"], set()),
    "scheduling.cron.backfill": ("backfill(cronId: string, opts: BackfillOptions)", ["BackfillOptions"], set()),
    "scheduling.webhook.send": ("send(url: string, payload: JsonObject, opts: WebhookOptions = {})",
                                ["WebhookOptions"], {"url", "payload"}),
    "scheduling.webhook.list": ("list(opts: PageOptions & { state?: DeliveryState } = {})",
                                ["PageOptions"], {"state"}),
    "scheduling.queue.publish": ("publish(queue: string, payload: JsonObject, opts: PublishOptions = {})",
                                 ["PublishOptions"], {"queue", "payload"}),
    "scheduling.queue.publish_batch": ("publishBatch(messages: BatchMessage[], opts: IdempotencyOptions & TraceOptions = {})",
                                       ["IdempotencyOptions", "TraceOptions"], {"messages"}),
    "scheduling.cron.trigger": ("trigger(cronId: string, opts: IdempotencyOptions & TraceOptions = {})",
                                ["IdempotencyOptions", "TraceOptions"], set()),
    "scheduling.queue.put": ("create(name: string, opts: QueueOptions = {})", ["QueueOptions"], set()),
    "scheduling.queue.list": ("list(opts: PageOptions = {})", ["PageOptions"], set()),
    "scheduling.flows.put": ("put(key: string, opts: FlowOptions = {})", ["FlowOptions"], set()),
    "scheduling.flows.list": ("list(opts: PageOptions = {})", ["PageOptions"], set()),
    "scheduling.endpoints.list": ("list(opts: PageOptions = {})", ["PageOptions"], set()),
    "scheduling.queue.messages": ("messages(name: string, opts: MessageListOptions = {})",
                                  ["MessageListOptions"], set()),
    "scheduling.queue.delete": ("delete(name: string, opts: { force?: boolean } = {})", [], {"force"}),
    "scheduling.deliveries.list": ("list(opts: PageOptions & DeliveryFilters = {})",
                                   ["PageOptions", "DeliveryFilters"], set()),
    "scheduling.deliveries.replay": ("replay(filters: DeliveryFilters & { idempotency_key?: string } = {})",
                                     ["DeliveryFilters"], {"idempotency_key"}),
    "scheduling.events.put": ("set(opts: EventsOptions)", ["EventsOptions"], set()),
    "auth.project.update": ("updateProject(settings: ProjectSettingsUpdate)", ["ProjectSettingsUpdate"], set()),
    "auth.project.expunge": ("expungeProject(confirm: string, opts: IdempotencyOptions = {})",
                             ["IdempotencyOptions"], {"confirm"}),
    "auth.keys.create": ("createKey(opts: KeyOptions = {})", ["KeyOptions"], set()),
    "auth.audit.list": ("audit(opts: AuditOptions = {})", ["AuditOptions"], set()),
    "scheduling.topics.put": ("put(name: string, opts: TopicOptions = {})", ["TopicOptions"], set()),
    "scheduling.topics.list": ("list(opts: PageOptions = {})", ["PageOptions"], set()),
    "scheduling.topics.publish": ("publish(name: string, event_type: string, payload: JsonObject, opts: TopicPublishOptions = {})",
                                  ["TopicPublishOptions"], {"event_type", "payload"}),
    "scheduling.topics.subscribe": ("subscribe(name: string, opts: SubscriptionOptions)", ["SubscriptionOptions"], set()),
    "scheduling.topics.subscriptions": ("subscriptions(name: string, opts: PageOptions = {})", ["PageOptions"], set()),
    "scheduling.subscriptions.update": ("updateSubscription(subscriptionId: string, changes: SubscriptionUpdate)",
                                        ["SubscriptionUpdate"], set()),
    "scheduling.event_types.put": ("putEventType(name: string, opts: EventTypeOptions = {})", ["EventTypeOptions"], set()),
    "scheduling.event_types.list": ("eventTypes(opts: PageOptions = {})", ["PageOptions"], set()),
}
# body-less POSTs: the only field is the idempotency key
TS_IDEMPOTENT = {
    "scheduling.cron.pause": "pause(cronId: string, opts: IdempotencyOptions = {})",
    "scheduling.cron.resume": "resume(cronId: string, opts: IdempotencyOptions = {})",
    "scheduling.queue.cancel": "cancel(messageId: string, opts: IdempotencyOptions = {})",
    "scheduling.queue.retry": "retry(messageId: string, opts: IdempotencyOptions = {})",
    "scheduling.webhook.retry": "retry(deliveryId: string, opts: IdempotencyOptions = {})",
    "scheduling.webhook.cancel": "cancel(deliveryId: string, opts: IdempotencyOptions = {})",
    "scheduling.webhook.rotate_secret": "rotateSecret(opts: IdempotencyOptions = {})",
    "scheduling.webhook.rotate_public_key": "rotatePublicKey(opts: IdempotencyOptions = {})",
    "scheduling.endpoints.release": "release(endpointId: string, opts: IdempotencyOptions = {})",
}


def test_every_typescript_operation_with_fields_is_checked():
    ops = operations()
    with_fields = {op for op, s in ops.items() if s["body"] or s["query"]} - {"auth.activate"}
    assert with_fields == set(TS_METHODS) | set(TS_IDEMPOTENT)


@pytest.mark.parametrize("op", sorted(TS_METHODS) + sorted(TS_IDEMPOTENT))
def test_typescript_options_are_the_api_fields(op):
    source = ts_sources()
    interfaces = ts_interfaces()
    interfaces["CronUpdate"] = interfaces["CronOptions"] - {"idempotency_key"}
    assert 'export type CronUpdate = Partial<Omit<CronOptions, "idempotency_key">>;' in ts_types()
    signature, names, positional = TS_METHODS.get(op) or (TS_IDEMPOTENT[op], ["IdempotencyOptions"], set())
    bodies = [source[m.start():source.find("\n  }", m.start())] for m in re.finditer(re.escape(signature), source)]
    assert any(f'"{op}"' in body for body in bodies), f"the TypeScript SDK has no method {signature} that calls {op}"
    got = set(positional).union(*(interfaces[n] for n in names))
    spec = ops = operations()[op]
    wanted = set(spec["body"] | spec["query"] | spec["headers"])
    if ops["method"] != "POST":
        wanted.discard("idempotency_key")
    assert got == wanted, f"{op}: TypeScript has {sorted(got)}, the API {sorted(wanted)}"


def test_batch_message_fields_match():
    spec = schema_check.spec()["components"]["schemas"]["BatchMessage"]["properties"]
    assert ts_interfaces()["BatchMessage"] == set(spec)
