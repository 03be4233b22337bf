"""Count the AWS requests the service makes, with botocore's event hooks, and price them.

DynamoDB is billed by what a request touches, not by what it sends, so its units are counted
the way DynamoDB bills them: for every write the service makes, the affected items are read
just before and just after the call with a separate client the counter does not count (same
endpoint), and

- the table: ceil(max(size before, size after) / 1 KB) write units per item (a failed condition
  is billed the same, on the item as it stands); TransactWriteItems twice that per item, a
  ConditionCheck in it as a write of its item;
- each GSI, from the item's index key attributes before and after: added -> one index put,
  removed -> one index delete, key changed -> both, key unchanged -> nothing for a keys-only
  index, one write of the item for an index projecting ALL attributes if the item changed.
  An index put or delete is billed ceil(index entry / 1 KB): keys only, a few dozen bytes
  (1 unit); ALL, the whole item. Index writes of a transaction are counted once (AWS doubles
  the table part of a transaction; we know of no statement that it doubles index writes);
- reads: GetItem and BatchGetItem ceil(item / 4 KB) per item (1 for an item not found), a
  Query or Scan ceil(sum of the items it read / 4 KB) (a COUNT or filtered Query is read again
  without them, uncounted, to see the items it read); halved when not strongly consistent
  (every GSI read is eventually consistent).

An item's size follows AWS's rules (CapacityUnitCalculations): the UTF-8 length of each
attribute name plus its value: strings their UTF-8 bytes, numbers 1 byte per two significant
digits plus 1, binary its bytes, booleans and nulls 1, lists and maps 3 bytes plus 1 per element
plus the elements (a map's keys counted as names), sets the sum of their elements. Numbers are
approximate (AWS says so too). Concurrent writes to the same item between the probe and the
call (counters under load) can shift a size by a few bytes: noise, not bias.

Prices: AWS list prices, us-east-1, on-demand, as published in 2025-26 (state them with every
figure; check aws.amazon.com/pricing before relying on them)."""
import collections
import json
import math
import threading

PRICES = {  # USD per unit
    "apigw_request": 3.50 / 1e6,        # API Gateway REST API, first 333 M requests/month
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "sqs_request": 0.40 / 1e6,          # standard queue, per 64 KB chunk
    "ddb_write_unit": 0.625 / 1e6,      # on-demand WRU (1 KB)
    "ddb_read_unit": 0.125 / 1e6,       # on-demand RRU (4 KB strongly consistent)
    "scheduler_invocation": 1.00 / 1e6,
}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READS = {"GetItem", "Query", "Scan", "BatchGetItem"}
KB = 1024


# --- item sizes (DynamoDB's rules) -------------------------------------------------------------

def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: dict) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else len(str(v).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(e) for k, e in v.items())
    if kind == "SS":
        return sum(len(e.encode()) for e in v)
    if kind == "NS":
        return sum(_number_size(e) for e in v)
    if kind == "BS":
        return sum(len(e) for e in v)
    return len(json.dumps(v, default=str))


def item_size(item: dict | None) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in (item or {}).items())


def _units(size: int, per: int) -> int:
    return max(1, math.ceil(size / per))


# --- the counter -------------------------------------------------------------------------------

class Counter:
    def __init__(self):
        self.calls = collections.Counter()
        self.units = collections.Counter()      # itemised DynamoDB units, see `detail`
        self.last_write = 0.0
        self._lock = threading.Lock()
        self._probes = {}
        self._schemas = {}

    # what the bench scripts read
    def snapshot(self):
        """(calls, table write units, index write units, read units) so far."""
        with self._lock:
            u = self.units
            return (collections.Counter(self.calls), u["wu:table"], u["wu:index"],
                    sum(v for k, v in u.items() if k.startswith("ru:")))

    def detail(self) -> dict:
        """Write units split table / index (and per index), read units per operation, and the
        old estimate (`request_size_estimate`: 1 unit per KB of a write's request parameters)."""
        with self._lock:
            return dict(self.units)

    def settle(self, quiet=1.5, limit=15.0):
        """Wait until no DynamoDB write has been made for `quiet` seconds (the last bookkeeping
        writes of a delivery land after its arrival), at most `limit` seconds."""
        import time
        deadline = time.time() + limit
        time.sleep(quiet)
        while time.time() < deadline and time.time() - self.last_write < quiet:
            time.sleep(0.2)

    def _add(self, key, amount):
        with self._lock:
            self.units[key] += amount

    # --- the hook -------------------------------------------------------------------------------

    def install(self):
        """Hook every client made from now on (the service's clients are made lazily)."""
        import botocore.client
        counter = self
        real = botocore.client.BaseClient._make_api_call

        def counted(client, operation_name, api_params):
            if getattr(client, "_bench_uncounted", False):
                return real(client, operation_name, api_params)
            service = client.meta.service_model.service_name
            with counter._lock:
                counter.calls[f"{service}:{operation_name}"] += 1
            if service != "dynamodb" or operation_name not in WRITES | READS:
                return real(client, operation_name, api_params)
            return counter._dynamodb(client, operation_name, api_params, real)
        botocore.client.BaseClient._make_api_call = counted
        self._restore = lambda: setattr(botocore.client.BaseClient, "_make_api_call", real)
        return self

    def uninstall(self):
        self._restore()

    def _probe(self, client):
        key = (client.meta.endpoint_url, client.meta.region_name)
        with self._lock:
            if key not in self._probes:
                import boto3
                probe = boto3.session.Session().client("dynamodb", endpoint_url=key[0], region_name=key[1])
                probe._bench_uncounted = True
                self._probes[key] = probe
            return self._probes[key]

    def _schema(self, probe, table):
        """(table key attributes, {index: (key attributes, projects ALL?)}) of a table."""
        if table not in self._schemas:
            t = probe.describe_table(TableName=table)["Table"]
            keys = tuple(k["AttributeName"] for k in t["KeySchema"])
            indexes = {g["IndexName"]: (tuple(k["AttributeName"] for k in g["KeySchema"]),
                                        True if g["Projection"]["ProjectionType"] == "ALL"
                                        else tuple(g["Projection"].get("NonKeyAttributes", ())))
                       for g in t.get("GlobalSecondaryIndexes", [])}
            self._schemas[table] = (keys, indexes)
        return self._schemas[table]

    def _dynamodb(self, client, op, params, real):
        import time
        probe = self._probe(client)
        if op in READS:
            resp = real(client, op, params)
            self._reads(probe, op, params, resp)
            return resp
        self._add("request_size_estimate", _units(len(json.dumps(params, default=str)), KB) * (
            2 if op == "TransactWriteItems" else 1))
        targets = self._targets(probe, op, params)      # [(table, key, kind)]
        before = [self._get(probe, t, k) for t, k, _ in targets]
        try:
            resp = real(client, op, params)
            failed = False
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            if code not in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                raise
            failed, resp = e, None
        self.last_write = time.time()
        after = before if failed else [self._get(probe, t, k) for t, k, _ in targets]
        for (table, _, kind), b, a in zip(targets, before, after):
            self._bill_write(probe, op, table, kind, b, a, failed)
        if failed:
            raise failed
        return resp

    def _targets(self, probe, op, params):
        def key_of(table, item):
            keys, _ = self._schema(probe, table)
            return {k: item[k] for k in keys}
        if op == "PutItem":
            return [(params["TableName"], key_of(params["TableName"], params["Item"]), "write")]
        if op in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], "write")]
        if op == "BatchWriteItem":
            out = []
            for table, reqs in params["RequestItems"].items():
                for r in reqs:
                    k = key_of(table, r["PutRequest"]["Item"]) if "PutRequest" in r else r["DeleteRequest"]["Key"]
                    out.append((table, k, "write"))
            return out
        out = []      # TransactWriteItems
        for t in params["TransactItems"]:
            (kind, spec), = t.items()
            key = key_of(spec["TableName"], spec["Item"]) if kind == "Put" else spec["Key"]
            out.append((spec["TableName"], key, "check" if kind == "ConditionCheck" else "transact"))
        return out

    def _get(self, probe, table, key):
        return probe.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _bill_write(self, probe, op, table, kind, before, after, failed):
        factor = 2 if op == "TransactWriteItems" else 1
        units = _units(max(item_size(before), item_size(after)), KB) * factor
        self._add("wu:table", units)
        self._add(f"wu:table:{op}" + (":failed" if failed else ""), units)
        if failed or kind == "check":
            return
        keys, indexes = self._schema(probe, table)
        self._add(f"heat:table:{_partition(before or after, keys[0])}", units)
        for name, (ikeys, projection) in indexes.items():
            projects_all = projection is True
            old = _index_key(before, ikeys)
            new = _index_key(after, ikeys)

            def entry(item):   # the index entry: keys only, the keys and the attributes it projects, or all
                kept = set(keys) | set(ikeys) | (set() if projects_all else set(projection))
                return item_size(item) if projects_all else item_size({k: v for k, v in item.items() if k in kept})
            if old == new:
                n = _units(entry(after), KB) if (new and before != after and entry(before) != entry(after)
                                                  and (projects_all or any((before or {}).get(a) != (after or {}).get(a)
                                                                           for a in projection))) else 0
            else:
                n = (_units(entry(before), KB) if old else 0) + (_units(entry(after), KB) if new else 0)
            if n:
                self._add("wu:index", n)
                self._add(f"wu:index:{name}", n)
                for item in {id(x): x for x in (before, after) if x and _index_key(x, ikeys)}.values():
                    self._add(f"heat:{name}:{_partition(item, ikeys[0])}", n / (2 if old and new and old != new else 1))

    def _reads(self, probe, op, params, resp):
        def rr(size, consistent):
            return _units(size, 4 * KB) * (1 if consistent else 0.5)
        if op == "GetItem":
            u = rr(item_size(resp.get("Item")), params.get("ConsistentRead", False))
        elif op == "BatchGetItem":
            u = 0
            for table, req in params["RequestItems"].items():
                got = resp.get("Responses", {}).get(table, [])
                missing = max(0, len(req["Keys"]) - len(got) - len(
                    resp.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])))
                c = req.get("ConsistentRead", False)
                u += sum(rr(item_size(i), c) for i in got) + missing * rr(0, c)
        else:   # Query, Scan: the items read, before any filter or COUNT
            items = resp.get("Items")
            if items is None or "FilterExpression" in params or "ProjectionExpression" in params:
                again = {k: v for k, v in params.items()
                         if k not in ("Select", "FilterExpression", "ProjectionExpression")}
                names = again.get("ExpressionAttributeNames")
                if names:   # only the names and values the key condition still uses
                    used = again.get("KeyConditionExpression", "")
                    again["ExpressionAttributeNames"] = {k: v for k, v in names.items() if k in used} or None
                    vals = again.get("ExpressionAttributeValues") or {}
                    again["ExpressionAttributeValues"] = {k: v for k, v in vals.items() if k in used} or None
                    again = {k: v for k, v in again.items() if v is not None}
                items = getattr(probe, "query" if op == "Query" else "scan")(**again).get("Items", [])
            consistent = params.get("ConsistentRead", False) and "IndexName" not in params
            u = rr(sum(item_size(i) for i in items), consistent)
        self._add(f"ru:{op}", u)


def _partition(item, attr):
    """An item's partition key value as text (DynamoDB's wire format: {"S": ...})."""
    v = (item or {}).get(attr) or {}
    return next(iter(v.values()), "?") if isinstance(v, dict) else str(v)


def _index_key(item, ikeys):
    """The item's key in an index, or None if the item is not in it (sparse: a key attribute missing)."""
    if not item or any(k not in item for k in ikeys):
        return None
    return tuple(json.dumps(item[k], sort_keys=True) for k in ikeys)


def itemise(detail: dict, per: float) -> list[tuple[str, str]]:
    """Report rows: write units table vs indexes (each index), read units, per delivery."""
    d = {k: v / per for k, v in detail.items()}
    idx = sorted((k.split(":", 2)[2], v) for k, v in d.items() if k.startswith("wu:index:"))
    ops = sorted((k.split(":", 2)[2], v) for k, v in d.items() if k.startswith("wu:table:"))
    reads = sorted((k.split(":", 1)[1], v) for k, v in d.items() if k.startswith("ru:"))
    return [
        ("DynamoDB write units: table + indexes = total",
         f"{d.get('wu:table', 0):.2f} + {d.get('wu:index', 0):.2f} = {d.get('wu:table', 0) + d.get('wu:index', 0):.2f}"),
        ("  table write units by call", ", ".join(f"{k} {v:.2f}" for k, v in ops) or "-"),
        ("  index write units by index", ", ".join(f"{k} {v:.2f}" for k, v in idx) or "-"),
        ("  old estimate (1 unit per KB of request parameters)", f"{d.get('request_size_estimate', 0):.2f}"),
        ("DynamoDB read units by call", ", ".join(f"{k} {v:.2f}" for k, v in reads) or "-"),
    ]


def cost_per_million(*, api_requests, lambda_invocations, lambda_gb_seconds, sqs_requests,
                     write_units, read_units, index_write_units=0.0, scheduler_invocations=0.0) -> dict:
    """Everything per ONE delivery in, USD per million deliveries out, itemised. `write_units`
    are the table's; `index_write_units` the GSIs' (priced alike, shown apart)."""
    p = PRICES
    parts = {
        "api_gateway": api_requests * p["apigw_request"],
        "lambda": lambda_invocations * p["lambda_request"] + lambda_gb_seconds * p["lambda_gb_second"],
        "sqs": sqs_requests * p["sqs_request"],
        "dynamodb": write_units * p["ddb_write_unit"] + read_units * p["ddb_read_unit"],
        "dynamodb_indexes": index_write_units * p["ddb_write_unit"],
        "scheduler": scheduler_invocations * p["scheduler_invocation"],
    }
    return {k: round(v * 1e6, 3) for k, v in parts.items()} | {"total": round(sum(parts.values()) * 1e6, 3)}
