"""Every response the tests see, checked against chalicelib/openapi.json.

`check(method, path, status, body)` finds the operation (a path template or a concrete path,
query string allowed), the response documented for `status`, and validates `body` against its
schema; a mismatch raises `SchemaMismatch` (an AssertionError). Validators are compiled once per
(operation, status). A path or method the spec does not know is the router's answer, not an
operation's: it is left alone here (tests/contract checks that every route has an operation)."""
import functools
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parent.parent / "chalicelib" / "openapi.json"
SPEC_URI = "urn:infrai:openapi"


class SchemaMismatch(AssertionError):
    pass


@functools.lru_cache(maxsize=1)
def spec() -> dict:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec(), default_specification=DRAFT202012))


@functools.lru_cache(maxsize=1)
def _templates() -> list:
    """(regex, template, literal segment count), most literal first: `/queue/publish` before `/queue/{name}`."""
    out = []
    for template in spec()["paths"]:
        parts = template.strip("/").split("/")
        rx = "/".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        out.append((re.compile("^/" + rx + "$"), template, sum(not p.startswith("{") for p in parts)))
    return sorted(out, key=lambda t: -t[2])


def find_operation(method: str, path: str):
    """(template, operation) or None when no operation of the spec takes this request."""
    method = method.lower()
    path = urlsplit(path).path if "?" in path or "://" in path else path
    paths = spec()["paths"]
    if path in paths:
        return (path, paths[path][method]) if method in paths[path] else None
    for rx, template, _ in _templates():
        if rx.match(path) and method in paths[template]:
            return template, paths[template][method]
    return None


def _at(pointer: str):
    """The part of the spec a local reference (`#/components/...`) or JSON pointer names."""
    node = spec()
    for part in pointer.lstrip("#").lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def inlined(node):
    """`node` (any part of the spec) with every `$ref` replaced by what it names, the reference's
    own keywords (a description, a default, `required`) over it: for reading a field's bounds
    wherever they are written. Responses are validated against the spec itself (`check`)."""
    if isinstance(node, list):
        return [inlined(v) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {**inlined(_at(node["$ref"])), **inlined({k: v for k, v in node.items() if k != "$ref"})}
    return {k: inlined(v) for k, v in node.items()}


@functools.lru_cache(maxsize=None)
def _validator(method: str, template: str, status: int):
    operation = spec()["paths"][template][method]
    responses = operation["responses"]
    code = next((c for c in (str(status), f"{str(status)[0]}XX", "default") if c in responses), None)
    if code is None:
        return None
    # the schema is named by where it is in the spec, so the `$ref`s in it (and in the schemas it
    # names) resolve against the spec, whether it is itself a `$ref` or written in place
    pointer, response = f"/paths/{_escape(template)}/{method}/responses/{code}", responses[code]
    while "$ref" in response:
        pointer, response = response["$ref"].lstrip("#"), _at(response["$ref"])
    if not response.get("content"):
        return False
    return Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}/content/{_escape('application/json')}/schema"},
                                registry=_registry())


def check(method: str, path: str, status: int, body) -> None:
    found = find_operation(method, path)
    if found is None:
        return
    template, operation = found
    validator = _validator(method.lower(), template, int(status))
    where = f"{method.upper()} {template} -> {status} ({operation['operationId']})"
    if validator is None:
        raise SchemaMismatch(f"{where}: status {status} is not documented in chalicelib/openapi.json "
                             f"(documented: {', '.join(operation['responses'])}); body: {str(body)[:300]}")
    if validator is False:
        if body not in (None, b"", ""):
            raise SchemaMismatch(f"{where}: documented without a body, got {str(body)[:300]}")
        return
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:5]]
        raise SchemaMismatch(f"{where}: the response does not match its schema:\n" + "\n".join(lines)
                             + f"\nbody: {json.dumps(body)[:500]}")
