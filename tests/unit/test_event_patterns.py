"""Subscription filters: the EventBridge event-pattern subset (core/event_patterns.py)."""
import pytest

from chalicelib.core import event_patterns as ep
from chalicelib.core.errors import InvalidInput


def m(pattern, payload):
    return ep.matches(ep.check(pattern), payload)


def test_exact_values_any_of_a_list():
    assert m({"status": ["paid", "refunded"]}, {"status": "paid"})
    assert not m({"status": ["paid"]}, {"status": "open"})
    assert not m({"status": ["paid"]}, {})


def test_numbers_compare_as_numbers_and_booleans_are_not_numbers():
    assert m({"n": [100]}, {"n": 100.0})
    assert not m({"n": [1]}, {"n": True})
    assert m({"ok": [True]}, {"ok": True}) and not m({"ok": [True]}, {"ok": 1})
    assert not m({"n": ["1"]}, {"n": 1})


def test_null_literal_matches_null_only():
    assert m({"x": [None]}, {"x": None})
    assert not m({"x": [None]}, {})


def test_prefix():
    assert m({"id": [{"prefix": "ord_"}]}, {"id": "ord_42"})
    assert not m({"id": [{"prefix": "ord_"}]}, {"id": "inv_42"})
    assert not m({"id": [{"prefix": "1"}]}, {"id": 12})


def test_anything_but():
    assert m({"s": [{"anything-but": "test"}]}, {"s": "live"})
    assert not m({"s": [{"anything-but": "test"}]}, {"s": "test"})
    assert not m({"s": [{"anything-but": ["a", "b"]}]}, {"s": "b"})
    assert m({"s": [{"anything-but": {"prefix": "tmp_"}}]}, {"s": "ord_1"})
    assert not m({"s": [{"anything-but": {"prefix": "tmp_"}}]}, {"s": "tmp_1"})
    assert not m({"s": [{"anything-but": "x"}]}, {})   # a missing field matches no anything-but
    assert not m({"n": [{"anything-but": 5}]}, {"n": 5.0})


def test_exists():
    assert m({"c": [{"exists": True}]}, {"c": None})
    assert not m({"c": [{"exists": True}]}, {})
    assert m({"c": [{"exists": False}]}, {})
    assert not m({"c": [{"exists": False}]}, {"c": 1})
    assert m({"a": {"b": [{"exists": False}]}}, {})


def test_numeric_bounds_and_ranges():
    assert m({"amount": [{"numeric": [">", 100]}]}, {"amount": 150})
    assert not m({"amount": [{"numeric": [">", 100]}]}, {"amount": 100})
    assert not m({"amount": [{"numeric": [">", 100]}]}, {"amount": "150"})
    assert m({"a": [{"numeric": [">=", 0, "<", 10]}]}, {"a": 0})
    assert not m({"a": [{"numeric": [">=", 0, "<", 10]}]}, {"a": 10})
    assert m({"a": [{"numeric": ["=", 3]}]}, {"a": 3.0})
    assert not m({"a": [{"numeric": [">", 1]}]}, {"a": True})


def test_nested_objects_and_every_key_must_match():
    p = {"customer": {"tier": ["gold"]}, "amount": [{"numeric": [">", 10]}]}
    assert m(p, {"customer": {"tier": "gold"}, "amount": 11})
    assert not m(p, {"customer": {"tier": "gold"}, "amount": 5})
    assert not m(p, {"customer": "gold", "amount": 11})


def test_a_list_field_matches_if_any_element_does():
    assert m({"tags": ["vip"]}, {"tags": ["new", "vip"]})
    assert not m({"tags": ["vip"]}, {"tags": []})
    assert m({"tags": [{"prefix": "v"}]}, {"tags": ["a", "vx"]})


@pytest.mark.parametrize("pattern,field", [
    (None, "filter"), ([], "filter"), ({}, "filter"),
    ({"a": "x"}, "filter.a"), ({"a": []}, "filter.a"), ({"a": {}}, "filter.a"),
    ({"a": [{"suffix": "x"}]}, "filter.a[0]"), ({"a": [{"prefix": ""}]}, "filter.a[0]"),
    ({"a": [{"prefix": 1}]}, "filter.a[0]"), ({"a": [{"exists": "yes"}]}, "filter.a[0]"),
    ({"a": [{"numeric": [">"]}]}, "filter.a[0]"), ({"a": [{"numeric": ["~", 1]}]}, "filter.a[0]"),
    ({"a": [{"numeric": [">", 1, ">", 2]}]}, "filter.a[0]"), ({"a": [{"numeric": [">", "1"]}]}, "filter.a[0]"),
    ({"a": [{"numeric": [">", True]}]}, "filter.a[0]"), ({"a": [[1]]}, "filter.a[0]"),
    ({"a": [{"prefix": "x", "exists": True}]}, "filter.a[0]"), ({"a": [{"anything-but": []}]}, "filter.a[0]"),
    ({"a": [{"anything-but": {"suffix": "x"}}]}, "filter.a[0]"), ({"$or": [{"a": [1]}]}, "filter.$or"),
    ({"b": {"c": [{"equals-ignore-case": "x"}]}}, "filter.b.c[0]"),
    ({"amount": {"numeric": [">", 1]}}, "filter.amount"),
])
def test_bad_patterns_are_refused_naming_the_place(pattern, field):
    with pytest.raises(InvalidInput) as e:
        ep.check(pattern)
    assert e.value.field == field


def test_limits():
    with pytest.raises(InvalidInput):
        ep.check({"a": list(range(ep.MAX_MATCHERS + 1))})
    deep = [1]
    for _ in range(ep.MAX_DEPTH + 1):
        deep = {"x": deep}
    with pytest.raises(InvalidInput):
        ep.check(deep)
