"""The local stand-in for DynamoDB's transactions (local/moto_atomic.py): all or nothing, without
copying whole tables (moto's own rollback copied the table on every transaction)."""
import pytest

from chalicelib.aws import store


def test_a_cancelled_transaction_puts_back_every_item_it_touched(aws, monkeypatch):
    monkeypatch.delenv("INFRAI_OPS_LOG", raising=False)   # this test's writes are not the service's (IAM check)
    store.put({"pk": "T", "sk": "kept", "n": 1})
    store.put({"pk": "T", "sk": "gone", "n": 1})
    store.put({"pk": "T", "sk": "guard", "n": 1})
    with pytest.raises(store.ConditionFailed):
        store.transact_write([
            {"put": {"pk": "T", "sk": "new", "n": 1}},
            {"update": ("T", "kept"), "expression": "SET n = :two", "values": {":two": 2}},
            {"delete": ("T", "gone")},
            {"check": ("T", "guard"), "condition": "n = :nine", "values": {":nine": 9}},   # fails: all undone
        ])
    assert store.get("T", "new") is None
    assert store.get("T", "kept")["n"] == 1 and store.get("T", "gone")["n"] == 1
    store.transact_write([{"put": {"pk": "T", "sk": "new", "n": 1}},
                          {"update": ("T", "kept"), "expression": "SET n = :two", "values": {":two": 2}}])
    assert store.get("T", "new")["n"] == 1 and store.get("T", "kept")["n"] == 2

