"""MkDocs hook: the HTTP reference page, rendered from chalicelib/openapi.json at build time, so the
site's reference is the document the API serves and the contract tests check (never a copy that
drifts). Offline: it reads the file, nothing else. Registered in mkdocs.yml under `hooks:`.

Page: `reference.md` (a generated file: it is not in docs/). One section per tag, one per
operation (method, path, parameters, request body fields, responses), then every schema."""
from __future__ import annotations

import json
from pathlib import Path

from mkdocs.structure.files import File

SPEC = Path(__file__).resolve().parent.parent / "chalicelib" / "openapi.json"
PAGE = "reference.md"
METHODS = ("get", "post", "put", "patch", "delete")


def on_files(files, config):
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    files.append(File.generated(config, PAGE, content=render(spec)))
    return files


def on_config(config):
    config.watch.append(str(SPEC))   # `mkdocs serve` rebuilds when the spec changes
    return config


# -- rendering -----------------------------------------------------------------------------------

def render(spec: dict) -> str:
    out = [
        "# HTTP reference",
        "",
        f"Generated from `chalicelib/openapi.json` (OpenAPI {spec['openapi']}, "
        f"\"{spec['info']['title']}\" {spec['info']['version']}) each time the site is built; the "
        "running API serves the same document at `GET /v1/openapi.json`. The guide to it, with the "
        "rules behind the fields, is the [API reference](api.md).",
        "",
        _cell(spec["info"].get("description", "")),
        "",
    ]
    tags = [t["name"] for t in spec.get("tags", [])]
    ops = [(path, method, op) for path, item in spec["paths"].items()
           for method, op in item.items() if method in METHODS]
    for tag in tags + sorted({t for _, _, op in ops for t in op.get("tags", [])} - set(tags)):
        mine = [o for o in ops if tag in o[2].get("tags", [])]
        if not mine:
            continue
        out += [f"## {tag}", ""]
        for path, method, op in mine:
            out += _operation(spec, path, method, op)
    out += ["## Schemas", ""]
    for name, schema in spec["components"]["schemas"].items():
        out += _schema_section(name, schema)
    return "\n".join(out) + "\n"


def _operation(spec: dict, path: str, method: str, op: dict) -> list[str]:
    out = [f"### `{method.upper()} {path}`", "",
           f"**{_cell(op.get('summary', ''))}** · operation `{op['operationId']}`"
           + (" · no API key needed" if op.get("security") == [] else ""), ""]
    if op.get("description"):
        out += [op["description"], ""]
    params = [_resolve(spec, p) for p in op.get("parameters", [])]
    if params:
        out += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for p in params:
            out.append(f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | "
                       f"{'yes' if p.get('required') else 'no'} | {_cell(_describe(p.get('schema', {}), p))} |")
        out.append("")
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        out += [f"Request body{' (optional)' if not body.get('required') else ''}: {_ref_link(schema)}", ""]
    out += ["| response | meaning | body |", "|---|---|---|"]
    for code, resp in op["responses"].items():
        resp = _resolve(spec, resp)
        schema = resp.get("content", {}).get("application/json", {}).get("schema")
        out.append(f"| `{code}` | {_cell(resp.get('description', ''))} | {_ref_link(schema) if schema else ''} |")
    out.append("")
    return out


def _schema_section(name: str, schema: dict) -> list[str]:
    out = [f"### {name}", ""]
    if schema.get("description"):
        out += [_cell(schema["description"]), ""]
    props = schema.get("properties")
    if not props:
        out += [f"Type: {_type(schema)}.", ""]
        return out
    required = set(schema.get("required", []))
    out += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, sub in props.items():
        out.append(f"| `{field}` | {_type(sub)} | {'yes' if field in required else 'no'} | "
                   f"{_cell(_describe(sub, sub))} |")
    extra = []
    if schema.get("additionalProperties") is False:
        extra.append("no other fields are accepted")
    for combo in ("oneOf", "anyOf"):
        if combo in schema and all("required" in c for c in schema[combo]):
            options = [" + ".join(f"`{f}`" for f in c["required"]) for c in schema[combo]]
            extra.append(("exactly one of " if combo == "oneOf" else "at least one of ") + ", ".join(options))
    out += ["", ("; ".join(extra).capitalize() + ".") if extra else "", ""]
    return out


def _resolve(spec: dict, obj: dict) -> dict:
    while "$ref" in obj:
        node = spec
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def _anchor(name: str) -> str:
    return name.lower()


def _ref_link(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{_anchor(name)})"
    return _type(schema)


def _type(schema: dict) -> str:
    if not schema:
        return "any JSON"
    if "$ref" in schema:
        return _ref_link(schema)
    if "oneOf" in schema or "anyOf" in schema:
        subs = schema.get("oneOf") or schema.get("anyOf")
        if all(("$ref" in s or "type" in s) for s in subs):
            return " or ".join(_type(s) for s in subs)
    kind = schema.get("type", "object" if "properties" in schema else "any JSON")
    kinds = kind if isinstance(kind, list) else [kind]
    shown = []
    for k in kinds:
        if k == "array":
            shown.append(f"array of {_type(schema.get('items', {}))}")
        else:
            shown.append(k)
    text = " or ".join(shown)
    if "enum" in schema:
        text += ": " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    return text


def _describe(schema: dict, holder: dict) -> str:
    """The description, then the bounds that are not already said in it."""
    parts = [holder.get("description") or schema.get("description") or ""]
    bounds = []
    for key, word in (("minimum", "min"), ("maximum", "max"), ("minLength", "min length"),
                      ("maxLength", "max length"), ("maxItems", "max items"), ("maxProperties", "max properties"),
                      ("pattern", "pattern"), ("default", "default"), ("format", "format")):
        if key in schema:
            value = schema[key]
            bounds.append(f"{word} `{value if key == 'pattern' else json.dumps(value)}`")
    if bounds:
        parts.append("(" + ", ".join(bounds) + ")")
    return " ".join(p for p in parts if p)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
