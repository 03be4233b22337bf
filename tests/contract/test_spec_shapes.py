"""chalicelib/openapi.json writes each shape once (issue 21): a schema or parameter used in two
places is one named component (`#/components/schemas/CircuitBreaker`, `.../parameters/PageLimit`)
that both places reference, each with its own description where it says something of its own.

A shape is any schema in the document (a component, a property, an item, a branch, a parameter's
or a body's) or a parameter object, compared without its documentation (description, examples,
title). Too small to count: fewer than three keywords and values (`{"type": "integer", "minimum":
0}`), and the ways of using a shared shape: a bare type, a `$ref`, X or null (`oneOf` of a `$ref`
and `{"type": "null"}`) and an array of one of these."""
import json
from collections import defaultdict

from tests import schema_check

DOC = {"description", "examples", "example", "title"}
MIN_WEIGHT = 3


def _strip(node):
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in DOC}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _weight(node) -> int:
    """Keywords and values; a list of types (`"type": ["string", "null"]`) is one."""
    if isinstance(node, dict):
        return sum(1 + (0 if k == "type" else _weight(v)) for k, v in node.items())
    if isinstance(node, list):
        return sum(1 + _weight(v) for v in node)
    return 0


def _a_use(node: dict) -> bool:
    """A bare type, a `$ref`, X or null, or an array of one of these: how a shared shape is used."""
    if set(node) <= {"type"} or set(node) == {"$ref"}:
        return True
    alts = node.get("oneOf") or node.get("anyOf")
    if set(node) in ({"oneOf"}, {"anyOf"}) and len(alts) == 2 and {"type": "null"} in alts:
        return all(set(a) == {"$ref"} or a == {"type": "null"} for a in alts)
    return set(node) == {"type", "items"} and node["type"] == "array" and _a_use(node["items"])


def _schemas(node, where, out):
    if not isinstance(node, dict):
        return
    out.append((where, node))
    for key, value in node.items():
        if key in ("properties", "patternProperties", "$defs"):
            for name, sub in value.items():
                _schemas(sub, f"{where}/{key}/{name}", out)
        elif key in ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"):
            _schemas(value, f"{where}/{key}", out)
        elif key in ("oneOf", "anyOf", "allOf", "prefixItems"):
            for i, sub in enumerate(value):
                _schemas(sub, f"{where}/{key}/{i}", out)


def shapes(spec: dict) -> list:
    """(where, node) for every schema and parameter object of the document."""
    out = []
    components = spec["components"]
    for name, schema in components["schemas"].items():
        _schemas(schema, f"#/components/schemas/{name}", out)

    def parameter(p, where):
        if "$ref" not in p:
            out.append((where, p))
            _schemas(p.get("schema", {}), f"{where}/schema", out)

    def content(c, where):
        for media, m in (c or {}).items():
            _schemas(m.get("schema", {}), f"{where}/content/{media}/schema", out)

    for name, p in components.get("parameters", {}).items():
        parameter(p, f"#/components/parameters/{name}")
    for name, r in components.get("responses", {}).items():
        content(r.get("content"), f"#/components/responses/{name}")
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            where = f"#/paths/{path}/{method}"
            for i, p in enumerate(op.get("parameters", [])):
                parameter(p, f"{where}/parameters/{i}")
            content(op.get("requestBody", {}).get("content"), f"{where}/requestBody")
            for code, r in op["responses"].items():
                content(r.get("content"), f"{where}/responses/{code}")
    return out


def repeated(spec: dict) -> dict:
    """canonical JSON of a shape -> the places it is written, for every shape written twice or more."""
    places = defaultdict(list)
    for where, node in shapes(spec):
        bare = _strip(node)
        if not _a_use(bare) and _weight(bare) >= MIN_WEIGHT:
            places[json.dumps(bare, sort_keys=True)].append(where)
    return {shape: where for shape, where in places.items() if len(where) > 1}


def test_every_shape_is_written_once():
    found = repeated(schema_check.spec())
    assert not found, "shapes written more than once (make each a component and $ref it):\n" + "\n".join(
        f"  {shape[:200]}\n    at {', '.join(where)}" for shape, where in found.items())


def test_the_check_finds_a_copy():
    spec = schema_check.spec()
    breaker = schema_check.inlined(spec["components"]["schemas"]["QueuePut"]["properties"]["circuit_breaker"])
    copied = {**spec, "components": {**spec["components"], "schemas": {
        **spec["components"]["schemas"],
        "FlowPut": {**spec["components"]["schemas"]["FlowPut"],
                    "properties": {**spec["components"]["schemas"]["FlowPut"]["properties"],
                                   "circuit_breaker": {**breaker, "description": "Worded otherwise."}}}}}}
    found = repeated(copied)
    assert {"#/components/schemas/CircuitBreaker", "#/components/schemas/FlowPut/properties/circuit_breaker"} \
        in [set(where) for where in found.values()]
    # and nothing else: the copy's fields are the shared schema's fields
    copies = ("#/components/schemas/CircuitBreaker", "#/components/schemas/FlowPut/properties/circuit_breaker")
    assert all(w in copies or w.startswith(tuple(c + "/" for c in copies)) for where in found.values() for w in where)


def test_every_circuit_breaker_is_the_one_schema():
    spec = schema_check.spec()
    uses = {name: s["properties"]["circuit_breaker"] for name, s in spec["components"]["schemas"].items()
            if "circuit_breaker" in s.get("properties", {})}
    assert len(uses) == 11   # with the subscriptions' (create, update, record)
    # what requests send, and what reads return (CircuitBreakerRecord: the same, every field present)
    assert {u["$ref"] for u in uses.values()} == {"#/components/schemas/CircuitBreaker",
                                                  "#/components/schemas/CircuitBreakerRecord"}
    assert spec["components"]["schemas"]["CircuitBreakerRecord"]["$ref"] == "#/components/schemas/CircuitBreaker"
