"""The DynamoDB adapter: typed get/put/update/query on the one data table, conditions as
domain outcomes, and opaque page cursors. Key layout lives in `keys.py`."""
import base64
import json
import random
import time

import functools

from .. import config
from ..core.errors import InvalidInput
from . import clients


@functools.lru_cache(maxsize=1)
def _types():
    """boto3's (de)serializers, imported on first use: importing boto3 is most of a cold start,
    and the API function's first request should pay for it, not its import."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
    return TypeSerializer(), TypeDeserializer()


def _client_error():
    from botocore.exceptions import ClientError
    return ClientError


class ConditionFailed(Exception):
    """The write's condition did not hold: someone else changed the item first. From a
    transaction, `failed` holds the positions of the ops whose condition failed (None: unknown)."""

    def __init__(self, failed: list[int] | None = None):
        super().__init__()
        self.failed = failed


def _to_ddb(item: dict) -> dict:
    return {k: _types()[0].serialize(v) for k, v in item.items() if v is not None}


def _from_ddb(item: dict) -> dict:
    return {k: _plain(_types()[1].deserialize(v)) for k, v in item.items()}


def _plain(value):
    """Decimals back to int/float, recursively, so records are JSON-ready."""
    from decimal import Decimal
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _numbers(value):
    """Floats to Decimal on the way in (boto3 refuses floats)."""
    from decimal import Decimal
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    return value


def get(pk: str, sk: str, consistent=True) -> dict | None:
    resp = clients.dynamodb().get_item(TableName=config.table_name(),
                                       Key=_to_ddb({"pk": pk, "sk": sk}), ConsistentRead=consistent)
    return _from_ddb(resp["Item"]) if "Item" in resp else None


def get_many(key_pairs: list[tuple[str, str]], consistent=True) -> dict[tuple[str, str], dict]:
    """Up to 100 items in one round trip (strongly consistent unless told), keyed by (pk, sk)."""
    found = {}
    pending = [_to_ddb({"pk": pk, "sk": sk}) for pk, sk in dict.fromkeys(key_pairs)]
    while pending:
        request = {config.table_name(): {"Keys": pending[:100], "ConsistentRead": consistent}}
        resp = clients.dynamodb().batch_get_item(RequestItems=request)
        for raw in resp["Responses"].get(config.table_name(), []):
            item = _from_ddb(raw)
            found[(item["pk"], item["sk"])] = item
        pending = pending[100:] + resp.get("UnprocessedKeys", {}).get(config.table_name(), {}).get("Keys", [])
    return found


def put(item: dict, *, condition: str | None = None, names=None, values=None) -> None:
    kwargs = {"TableName": config.table_name(), "Item": _to_ddb(_numbers(item))}
    _add_condition(kwargs, condition, names, values)
    _write(clients.dynamodb().put_item, kwargs)


def update(pk: str, sk: str, sets: dict, *, removes=(), condition: str | None = None,
           values=None, names=None, appends: dict | None = None, adds: dict | None = None) -> dict:
    """SET each field of `sets` (None means REMOVE), list_append each of `appends`, REMOVE
    `removes`; returns the new item."""
    removes = tuple(removes) + tuple(f for f, v in sets.items() if v is None)
    sets = {f: v for f, v in sets.items() if v is not None}
    names = dict(names or {})
    values = dict(values or {})
    parts = []
    for i, (field, value) in enumerate(sets.items()):
        names[f"#s{i}"] = field
        values[f":s{i}"] = value
        parts.append(f"#s{i} = :s{i}")
    for i, (field, items) in enumerate((appends or {}).items()):
        names[f"#a{i}"] = field
        values[f":a{i}"] = items
        values[":empty"] = []
        parts.append(f"#a{i} = list_append(if_not_exists(#a{i}, :empty), :a{i})")
    expr = "SET " + ", ".join(parts) if parts else ""
    for i, (field, amount) in enumerate((adds or {}).items()):
        names[f"#n{i}"] = field
        values[f":n{i}"] = amount
        expr += (" ADD " if i == 0 else ", ") + f"#n{i} :n{i}"
    if removes:
        for i, field in enumerate(removes):
            names[f"#r{i}"] = field
        expr += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
    kwargs = {"TableName": config.table_name(), "Key": _to_ddb({"pk": pk, "sk": sk}),
              "UpdateExpression": expr.strip(), "ReturnValues": "ALL_NEW"}
    _add_condition(kwargs, condition, names, values)
    if "ExpressionAttributeNames" not in kwargs:
        kwargs["ExpressionAttributeNames"] = names
    if "ExpressionAttributeValues" not in kwargs and values:
        kwargs["ExpressionAttributeValues"] = _to_ddb(_numbers(values))
    return _from_ddb(_write(clients.dynamodb().update_item, kwargs)["Attributes"])


def update_expression(pk: str, sk: str, expression: str, *, condition: str | None = None,
                      names=None, values=None) -> dict:
    """A raw UpdateExpression, for what `update` cannot say (nested map paths, arithmetic on a
    field); returns the new item."""
    kwargs = {"TableName": config.table_name(), "Key": _to_ddb({"pk": pk, "sk": sk}),
              "UpdateExpression": expression, "ReturnValues": "ALL_NEW"}
    _add_condition(kwargs, condition, names, values)
    return _from_ddb(_write(clients.dynamodb().update_item, kwargs)["Attributes"])


def delete(pk: str, sk: str, *, condition=None, names=None, values=None) -> None:
    kwargs = {"TableName": config.table_name(), "Key": _to_ddb({"pk": pk, "sk": sk})}
    _add_condition(kwargs, condition, names, values)
    _write(clients.dynamodb().delete_item, kwargs)


def _add_condition(kwargs, condition, names, values):
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = _to_ddb(_numbers(values))


def _write(call, kwargs):
    try:
        return call(**kwargs)
    except _client_error() as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise ConditionFailed() from e
        raise


def _transact(ops: list[dict]) -> None:
    """All or nothing; a cancelled transaction (a condition that did not hold) is ConditionFailed."""
    try:
        clients.dynamodb().transact_write_items(TransactItems=ops)
    except _client_error() as e:
        if e.response["Error"]["Code"] == "TransactionCanceledException":
            raise ConditionFailed() from e
        raise


def transact_put(items: list[dict]) -> None:
    """All or nothing: several new items, each refusing to overwrite an existing one."""
    ops = [{"Put": {"TableName": config.table_name(), "Item": _to_ddb(_numbers(item)),
                    "ConditionExpression": "attribute_not_exists(pk)"}} for item in items]
    _transact(ops)


TRANSACTION_TRIES = 6
_CONFLICTS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


def transact_write(ops: list[dict]) -> None:
    """All or nothing: up to 100 writes in one transaction. Each op is one of
    {"put": item, "condition"?}, {"update": (pk, sk), "expression", "condition"?},
    {"delete": (pk, sk), "condition"?}, {"check": (pk, sk), "condition"}, with "names" and
    "values" (plain Python) as the expressions need. Raises ConditionFailed if any condition fails."""
    items = []
    for op in ops:
        spec = {"TableName": config.table_name()}
        if "put" in op:
            kind, spec["Item"] = "Put", _to_ddb(_numbers(op["put"]))
        else:
            kind = "Update" if "update" in op else "Delete" if "delete" in op else "ConditionCheck"
            pk, sk = op.get("update") or op.get("delete") or op["check"]
            spec["Key"] = _to_ddb({"pk": pk, "sk": sk})
            if "expression" in op:
                spec["UpdateExpression"] = op["expression"]
        _add_condition(spec, op.get("condition"), op.get("names"), op.get("values"))
        items.append({kind: spec})
    for attempt in range(TRANSACTION_TRIES):
        try:
            clients.dynamodb().transact_write_items(TransactItems=items)
            return
        except _client_error() as e:
            if e.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in e.response.get("CancellationReasons", [])]
            codes = set(reasons)
            if "ConditionalCheckFailed" in codes or attempt == TRANSACTION_TRIES - 1 or not codes & _CONFLICTS:
                failed = [i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
                raise ConditionFailed(failed if len(reasons) == len(items) else None) from e
        # another transaction held one of the items (a counter, under concurrency): try again
        time.sleep(random.uniform(0, 0.02 * 2 ** attempt))


def query_page(index: str | None, pk_value: str, *, limit: int, cursor: str | None,
               newest_first=True, sk_prefix: str | None = None) -> tuple[list[dict], str | None]:
    """One page of a partition (of an index, or of the table when `index` is None), with an
    opaque cursor bound to that partition."""
    pk_attr, sk_attr = (f"{index}pk", f"{index}sk") if index else ("pk", "sk")
    names = {"#pk": pk_attr}
    values = {":pk": pk_value}
    cond = "#pk = :pk"
    if sk_prefix:
        names["#sk"] = sk_attr
        values[":skp"] = sk_prefix
        cond += " AND begins_with(#sk, :skp)"
    kwargs = {"TableName": config.table_name(), "KeyConditionExpression": cond,
              "ExpressionAttributeNames": names, "ExpressionAttributeValues": _to_ddb(values),
              "ScanIndexForward": not newest_first, "Limit": limit}
    if index:
        kwargs["IndexName"] = index
    if cursor:
        key_attrs = {"pk", "sk", pk_attr, sk_attr}
        kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, pk_attr, pk_value, key_attrs)
    resp = clients.dynamodb().query(**kwargs)
    items = [_from_ddb(i) for i in resp.get("Items", [])]
    last = resp.get("LastEvaluatedKey")
    return items, (_encode_cursor(last) if last and len(items) == limit else None)


def scan(filter_expression: str, names: dict | None = None, values: dict | None = None):
    """Every item of the table matching the filter, page by page (consistent). A whole-table
    read: only for rare maintenance such as recovery, never on a request path."""
    kwargs = {"TableName": config.table_name(), "FilterExpression": filter_expression, "ConsistentRead": True}
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = _to_ddb(_numbers(values))
    for page in clients.dynamodb().get_paginator("scan").paginate(**kwargs):
        for raw in page.get("Items", []):
            yield _from_ddb(raw)


def from_raw(item: dict) -> dict:
    """An item as DynamoDB's wire format has it (e.g. read back from a snapshot), made plain."""
    return _from_ddb(item)


def count(index: str, pk_value: str, where: dict | None = None) -> int:
    """How many items an index partition holds (paginated COUNT query), optionally only those
    whose fields equal `where`."""
    return _count({"IndexName": index, "KeyConditionExpression": "#pk = :pk"},
                  {"#pk": f"{index}pk"}, {":pk": pk_value}, where)


def _count(kwargs: dict, names: dict, values: dict, where: dict | None) -> int:
    """A paginated COUNT query: `kwargs` holds its key condition, `where` the fields to match."""
    kwargs = {"TableName": config.table_name(), "Select": "COUNT", **kwargs}
    for i, (field, value) in enumerate((where or {}).items()):
        names[f"#w{i}"], values[f":w{i}"] = field, value
    if where:
        kwargs["FilterExpression"] = " AND ".join(f"#w{i} = :w{i}" for i in range(len(where)))
    kwargs["ExpressionAttributeNames"], kwargs["ExpressionAttributeValues"] = names, _to_ddb(values)
    total = 0
    while True:
        resp = clients.dynamodb().query(**kwargs)
        total += resp["Count"]
        if "LastEvaluatedKey" not in resp:
            return total
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def put_many(items: list[dict]) -> None:
    """New items in batches of 25 (BatchWriteItem: no conditions, so only for fresh ids)."""
    ddb = clients.dynamodb()
    pending = [{"PutRequest": {"Item": _to_ddb(_numbers(i))}} for i in items]
    while pending:
        resp = ddb.batch_write_item(RequestItems={config.table_name(): pending[:25]})
        pending = pending[25:] + resp.get("UnprocessedItems", {}).get(config.table_name(), [])


def _encode_cursor(key: dict) -> str:
    plain = {k: _types()[1].deserialize(v) for k, v in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, default=str).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, pk_attr: str, pk_value: str, key_attrs: set) -> dict:
    """Only a cursor shaped exactly like the keys this query returns, in this partition: anything
    else would be a DynamoDB ValidationException (a 500), or a peek outside the caller's scope."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        plain = json.loads(base64.urlsafe_b64decode(padded.encode())) if len(cursor) <= 4096 else None
        ok = isinstance(plain, dict) and plain.get(pk_attr) == pk_value and set(plain) == key_attrs and all(
            isinstance(v, str) and 0 < len(v.encode()) <= 1024 for v in plain.values())
    except (ValueError, TypeError, RecursionError):
        ok = False
    if not ok:
        raise InvalidInput("'cursor' is not one this list returned; pass next_cursor unchanged, "
                           "or omit it to start from the first page.", field="cursor")
    return _to_ddb(plain)


def query_range(index: str, pk_attr: str, pk_value: str, sk_attr: str, *, lo: str, hi: str, limit: int,
                cursor: str | None, newest_first=True) -> tuple[list[dict], str | None]:
    """One page of an index partition whose sort key lies in [lo, hi], with an opaque cursor bound
    to that partition (`cursor_at` makes one that resumes after a given item)."""
    names = {"#pk": pk_attr, "#sk": sk_attr}
    values = {":pk": pk_value, ":lo": lo, ":hi": hi}
    kwargs = {"TableName": config.table_name(), "IndexName": index,
              "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
              "ExpressionAttributeNames": names, "ExpressionAttributeValues": _to_ddb(values),
              "ScanIndexForward": not newest_first, "Limit": limit}
    if cursor:
        kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, pk_attr, pk_value, {"pk", "sk", pk_attr, sk_attr})
    resp = clients.dynamodb().query(**kwargs)
    last = resp.get("LastEvaluatedKey")
    return [_from_ddb(i) for i in resp.get("Items", [])], (_encode_cursor(last) if last else None)


def cursor_at(item: dict, attrs: tuple[str, ...]) -> str:
    """The cursor of a page that ended at `item` (its key attributes `attrs`)."""
    return _encode_cursor(_to_ddb({a: item[a] for a in attrs}))


def transact_update(updates: list[dict]) -> None:
    """All or nothing: several updates, each {"pk", "sk", "sets": {...}, "adds": {...},
    "condition", "names", "values"}; ConditionFailed if any condition does not hold."""
    ops = []
    for u in updates:
        names, values, parts = dict(u.get("names") or {}), dict(u.get("values") or {}), []
        for i, (field, value) in enumerate((u.get("sets") or {}).items()):
            names[f"#s{i}"], values[f":s{i}"] = field, value
            parts.append(f"#s{i} = :s{i}")
        expr = "SET " + ", ".join(parts) if parts else ""
        for i, (field, amount) in enumerate((u.get("adds") or {}).items()):
            names[f"#n{i}"], values[f":n{i}"] = field, amount
            expr += (" ADD " if i == 0 else ", ") + f"#n{i} :n{i}"
        op = {"TableName": config.table_name(), "Key": _to_ddb({"pk": u["pk"], "sk": u["sk"]}),
              "UpdateExpression": expr.strip(), "ExpressionAttributeNames": names}
        if values:
            op["ExpressionAttributeValues"] = _to_ddb(_numbers(values))
        if u.get("condition"):
            op["ConditionExpression"] = u["condition"]
        ops.append({"Update": op})
    _transact(ops)


def keys_up_to(index: str, pk_value: str, sk_max: str, limit: int) -> list[tuple[str, str]]:
    """The table keys of up to `limit` items in an index partition whose sort key is at most
    `sk_max`, oldest first (one Query per 1 MB page; a KEYS_ONLY index reads little)."""
    kwargs = {"TableName": config.table_name(), "IndexName": index,
              "KeyConditionExpression": "#pk = :pk AND #sk <= :max",
              "ExpressionAttributeNames": {"#pk": f"{index}pk", "#sk": f"{index}sk"},
              "ExpressionAttributeValues": _to_ddb({":pk": pk_value, ":max": sk_max}),
              "ScanIndexForward": True, "Limit": limit}
    found: list[tuple[str, str]] = []
    while len(found) < limit:
        resp = clients.dynamodb().query(**kwargs)
        found += [(i["pk"]["S"], i["sk"]["S"]) for i in resp.get("Items", [])]
        if "LastEvaluatedKey" not in resp:
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        kwargs["Limit"] = limit - len(found)
    return found[:limit]


def count_between(pk_value: str, lo: str, hi: str, where: dict | None = None) -> int:
    """How many items of a table partition have a sort key in [lo, hi] (paginated COUNT query,
    reading only that range), optionally only those whose fields equal `where`."""
    return _count({"ConsistentRead": True, "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi"},
                  {"#pk": "pk", "#sk": "sk"}, {":pk": pk_value, ":lo": lo, ":hi": hi}, where)


MAX_FILTERED_READS = 10   # a filtered page stops after this many 1 MB reads, with a cursor to go on


def query_filtered(pk_value: str, *, lo: str, hi: str, where: dict, after: tuple[str, float] | None,
                   limit: int, cursor: str | None, newest_first=True) -> tuple[list[dict], str | None]:
    """One page of a table partition whose sort key lies in [lo, hi], keeping only items whose
    fields equal `where` and (`after`: (field, value)) whose field is above the value (an
    expiry time, as moto never deletes by TTL). A page may hold fewer than `limit` items and
    still have a cursor: the filter drops what it read."""
    names = {"#pk": "pk", "#sk": "sk"}
    values = {":pk": pk_value, ":lo": lo, ":hi": hi}
    tests = []
    for i, (field, value) in enumerate(where.items()):
        names[f"#w{i}"], values[f":w{i}"] = field, value
        tests.append(f"#w{i} = :w{i}")
    if after:
        names["#after"], values[":after"] = after
        tests.append("#after > :after")
    kwargs = {"TableName": config.table_name(), "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
              "ExpressionAttributeNames": names, "ExpressionAttributeValues": _to_ddb(_numbers(values)),
              "ScanIndexForward": not newest_first}
    if tests:
        kwargs["FilterExpression"] = " AND ".join(tests)
    if cursor:
        kwargs["ExclusiveStartKey"] = _decode_cursor(cursor, "pk", pk_value, {"pk", "sk"})
    found, last = [], None
    for _ in range(MAX_FILTERED_READS):
        kwargs["Limit"] = limit - len(found)
        resp = clients.dynamodb().query(**kwargs)
        found += [_from_ddb(i) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        if not last or len(found) >= limit:
            break
        kwargs["ExclusiveStartKey"] = last
    return found, (_encode_cursor(last) if last else None)
