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
        out += _schema_section(spec, name, schema)
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
            out.append(f"| `{p['name']}` | {p['in']} | {_type(spec, p.get('schema', {}))} | "
                       f"{'yes' if p.get('required') else 'no'} | {_cell(_describe(spec, p.get('schema', {}), p))} |")
        out.append("")
    body = op.get("requestBody")
    if body:
        schema = body["content"]["application/json"]["schema"]
        out += [f"Request body{' (optional)' if not body.get('required') else ''}: {_ref_link(spec, schema)}", ""]
    out += ["| response | meaning | body |", "|---|---|---|"]
    for code, resp in op["responses"].items():
        resp = _resolve(spec, resp)
        schema = resp.get("content", {}).get("application/json", {}).get("schema")
        out.append(f"| `{code}` | {_cell(resp.get('description', ''))} | {_ref_link(spec, schema) if schema else ''} |")
    out.append("")
    return out


def _schema_section(spec: dict, name: str, schema: dict) -> list[str]:
    out = [f"### {name}", ""]
    if schema.get("description"):
        out += [_cell(schema["description"]), ""]
    props = schema.get("properties")
    if not props:
        bounds = _bounds(_effective(spec, schema)[0])
        out += [f"Type: {_type(spec, schema)}{' ' + bounds if bounds else ''}.", ""]
        return out
    required = set(schema.get("required", []))
    out += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, sub in props.items():
        out.append(f"| `{field}` | {_type(spec, sub)} | {'yes' if field in required else 'no'} | "
                   f"{_cell(_describe(spec, sub, sub))} |")
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
    """The object a `$ref` names, with the reference's own keywords (its description) over it."""
    while "$ref" in obj:
        node = spec
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = {**node, **{k: v for k, v in obj.items() if k != "$ref"}}
    return obj


def _effective(spec: dict, schema: dict) -> tuple[dict, list[str]]:
    """What a schema says once its `$ref`s are followed (the referring schema's own keywords
    win: a description, a default), with `X or null` (oneOf/anyOf of X and null) folded into
    X's type when X is a plain value; and the names of the shared schemas it went through."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        flat, names = _effective(spec, _resolve(spec, {"$ref": schema["$ref"]}))
        return {**flat, **{k: v for k, v in schema.items() if k != "$ref"}}, [name] + names
    subs = schema.get("oneOf") or schema.get("anyOf")
    if subs and len(subs) == 2 and {"type": "null"} in subs and set(schema) - {"oneOf", "anyOf"} <= {"description"}:
        flat, names = _effective(spec, next(s for s in subs if s != {"type": "null"}))
        kinds = flat.get("type")
        if isinstance(kinds, str) and kinds != "object" and "properties" not in flat:
            rest = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
            return {**flat, "type": [kinds, "null"], **rest}, names
    return schema, []


def _composite(schema: dict) -> bool:
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return "properties" in schema or "object" in kinds or "oneOf" in schema or "anyOf" in schema


def _anchor(name: str) -> str:
    return name.lower()


def _ref_link(spec: dict, schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"[{name}](#{_anchor(name)})"
    return _type(spec, schema)


def _type(spec: dict, schema: dict) -> str:
    """A shared object (or a choice) is its link; a shared plain value is its type, then the link."""
    if not schema:
        return "any JSON"
    flat, names = _effective(spec, schema)
    if names:
        link = f"[{names[0]}](#{_anchor(names[0])})"
        if _composite(flat):
            kinds = flat.get("type")
            return link + (" or null" if isinstance(kinds, list) and "null" in kinds else "")
        return f"{_type(spec, flat)} ({link})"
    if "oneOf" in schema or "anyOf" in schema:
        subs = schema.get("oneOf") or schema.get("anyOf")
        if all(("$ref" in s or "type" in s) for s in subs):
            return " or ".join(_type(spec, s) for s in subs)
    default = "object" if "properties" in schema else "any JSON"
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        default = "string"
    kind = schema.get("type", default)
    kinds = kind if isinstance(kind, list) else [kind]
    shown = []
    for k in kinds:
        if k == "array":
            shown.append(f"array of {_type(spec, schema.get('items', {}))}")
        else:
            shown.append(k)
    text = " or ".join(shown)
    if "enum" in schema:
        text += ": " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    return text


def _describe(spec: dict, schema: dict, holder: dict) -> str:
    """The description (the holder's own, else the shared schema's), then the bounds that are not
    already said in it (a shared schema's, with the holder's own over them: a default)."""
    flat, _ = _effective(spec, schema)
    parts = [holder.get("description") or flat.get("description") or "", _bounds(flat)]
    return " ".join(p for p in parts if p)


def _bounds(schema: dict) -> str:
    bounds = []
    for key, word in (("minimum", "min"), ("maximum", "max"), ("minLength", "min length"),
                      ("maxLength", "max length"), ("maxItems", "max items"), ("maxProperties", "max properties"),
                      ("pattern", "pattern"), ("default", "default"), ("format", "format")):
        if key in schema:
            value = schema[key]
            bounds.append(f"{word} `{value if key == 'pattern' else json.dumps(value)}`")
    return "(" + ", ".join(bounds) + ")" if bounds else ""


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")
