"""The site's HTTP reference (docs_hooks/openapi_reference.py) is the spec: every operation and
schema of chalicelib/openapi.json appears on the page, with each request field."""
import importlib.util
from pathlib import Path

from tests import schema_check

ROOT = Path(__file__).resolve().parents[2]


def _hook():
    spec = importlib.util.spec_from_file_location("openapi_reference", ROOT / "docs_hooks" / "openapi_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_operation_schema_and_field_is_on_the_page():
    spec = schema_check.spec()
    page = _hook().render(spec)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert f"### `{method.upper()} {path}`" in page
                assert f"operation `{op['operationId']}`" in page
    for name, schema in spec["components"]["schemas"].items():
        assert f"\n### {name}\n" in page
        for field in schema.get("properties", {}):
            assert f"| `{field}` |" in page, (name, field)


def test_a_field_the_spec_gains_shows_up():
    spec = schema_check.spec()
    changed = {**spec, "components": {**spec["components"], "schemas": {
        **spec["components"]["schemas"],
        "QueuePut": {**spec["components"]["schemas"]["QueuePut"],
                     "properties": {**spec["components"]["schemas"]["QueuePut"]["properties"],
                                    "brand_new": {"type": "integer", "maximum": 7, "description": "New."}}}}}}
    assert "| `brand_new` | integer | no | New. (max `7`) |" in _hook().render(changed)
