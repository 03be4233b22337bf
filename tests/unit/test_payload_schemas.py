"""Event type schemas: the JSON Schema subset (core/payload_schemas.py)."""
import pytest

from chalicelib.core import payload_schemas as ps
from chalicelib.core.errors import InvalidInput

ORDER = {"type": "object", "required": ["order_id", "amount"],
         "properties": {"order_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0, "maximum": 10000},
                        "currency": {"enum": ["EUR", "USD"]}, "qty": {"type": "integer"},
                        "lines": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
                        "note": {"type": ["string", "null"]}}}


def test_a_fitting_payload_has_no_error():
    ps.check(ORDER)
    assert ps.error(ORDER, {"order_id": "o1", "amount": 5, "currency": "EUR", "qty": 2.0,
                            "lines": [{"sku": "a"}], "note": None}) is None


@pytest.mark.parametrize("payload,where", [
    ({"amount": 1}, "payload.order_id"),
    ({"order_id": 1, "amount": 1}, "payload.order_id"),
    ({"order_id": "o", "amount": -1}, "payload.amount"),
    ({"order_id": "o", "amount": 10001}, "payload.amount"),
    ({"order_id": "o", "amount": True}, "payload.amount"),
    ({"order_id": "o", "amount": 1, "currency": "GBP"}, "payload.currency"),
    ({"order_id": "o", "amount": 1, "qty": 1.5}, "payload.qty"),
    ({"order_id": "o", "amount": 1, "lines": [{}]}, "payload.lines[0].sku"),
    ({"order_id": "o", "amount": 1, "note": 3}, "payload.note"),
])
def test_errors_name_the_place(payload, where):
    assert f"'{where}'" in ps.error(ORDER, payload)


@pytest.mark.parametrize("schema", [
    [], {"type": "float"}, {"type": []}, {"properties": []}, {"required": "a"}, {"required": ["a", "a"]},
    {"enum": []}, {"minimum": "0"}, {"pattern": "^a"}, {"additionalProperties": False},
    {"properties": {"a": {"format": "email"}}}, {"items": 3},
])
def test_bad_or_unsupported_schemas_are_refused(schema):
    with pytest.raises(InvalidInput):
        ps.check(schema)
