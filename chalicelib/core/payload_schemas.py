"""An event type's `schema`: a small subset of JSON Schema, checked here (the Lambda bundle
carries no jsonschema). Keywords: `type` (object, array, string, number, integer, boolean, null,
or a list of them), `properties`, `required`, `enum`, `minimum`, `maximum`, `items`, and
`description`/`title` (ignored). Any other keyword is a 400 when the schema is declared, so
nobody believes a rule is enforced that is not."""
from .errors import InvalidInput

KEYWORDS = ("type", "properties", "required", "enum", "minimum", "maximum", "items", "description", "title")
TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
MAX_DEPTH = 16
MAX_SCHEMA_CHARS = 16 * 1024


def check(schema, field: str = "schema") -> dict:
    if not isinstance(schema, dict):
        raise InvalidInput(f"'{field}' must be a JSON Schema object, e.g. {{\"type\": \"object\", "
                           "\"required\": [\"order_id\"]}.", field=field)
    if len(repr(schema)) > MAX_SCHEMA_CHARS:
        raise InvalidInput(f"'{field}' is over {MAX_SCHEMA_CHARS // 1024} KB.", field=field)
    _check(schema, field, 1)
    return schema


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(schema, where: str, depth: int) -> None:
    if not isinstance(schema, dict):
        raise InvalidInput(f"'{where}' must be a schema object.", field=where)
    if depth > MAX_DEPTH:
        raise InvalidInput(f"'{where}' nests deeper than {MAX_DEPTH} levels.", field=where)
    for key in schema:
        if key not in KEYWORDS:
            raise InvalidInput(f"'{where}': keyword '{key}' is not supported; the supported subset is "
                               f"{', '.join(KEYWORDS)}.", field=where)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not types or not all(isinstance(t, str) and t in TYPES for t in types):
            raise InvalidInput(f"'{where}.type' must be one of {', '.join(TYPES)} or a list of them.",
                               field=f"{where}.type")
    if "properties" in schema:
        if not isinstance(schema["properties"], dict):
            raise InvalidInput(f"'{where}.properties' must be an object of schemas.", field=f"{where}.properties")
        for name, sub in schema["properties"].items():
            _check(sub, f"{where}.properties.{name}", depth + 1)
    if "required" in schema:
        req = schema["required"]
        if not isinstance(req, list) or not all(isinstance(r, str) for r in req) or len(set(req)) != len(req):
            raise InvalidInput(f"'{where}.required' must be a list of distinct field names.", field=f"{where}.required")
    if "enum" in schema and (not isinstance(schema["enum"], list) or not schema["enum"]):
        raise InvalidInput(f"'{where}.enum' must be a non-empty list of values.", field=f"{where}.enum")
    for bound in ("minimum", "maximum"):
        if bound in schema and not _number(schema[bound]):
            raise InvalidInput(f"'{where}.{bound}' must be a number.", field=f"{where}.{bound}")
    if "items" in schema:
        _check(schema["items"], f"{where}.items", depth + 1)


def error(schema: dict, value, where: str = "payload") -> str | None:
    """The first way `value` breaks the schema, as a sentence naming the place; None if it fits."""
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(_is(value, t) for t in types):
            return f"'{where}' must be {' or '.join(types)}."
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        return f"'{where}' must be one of {schema['enum']}."
    if _number(value):
        if "minimum" in schema and value < schema["minimum"]:
            return f"'{where}' must be at least {schema['minimum']}."
        if "maximum" in schema and value > schema["maximum"]:
            return f"'{where}' must be at most {schema['maximum']}."
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                return f"'{where}.{name}' is required."
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                found = error(sub, value[name], f"{where}.{name}")
                if found:
                    return found
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found = error(schema["items"], item, f"{where}[{i}]")
            if found:
                return found
    return None


def _is(value, t: str) -> bool:
    return {"object": isinstance(value, dict), "array": isinstance(value, list), "string": isinstance(value, str),
            "number": _number(value), "integer": _number(value) and float(value).is_integer(),
            "boolean": isinstance(value, bool), "null": value is None}[t]


def _same(a, b) -> bool:
    if _number(a) and _number(b):
        return a == b
    return type(a) is type(b) and a == b
