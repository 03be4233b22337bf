"""Count the AWS requests the service makes, with botocore's event hooks, and price them.

Prices: AWS list prices, us-east-1, on-demand, as published in 2025-26 (state them with every
figure; check aws.amazon.com/pricing before relying on them)."""
import collections
import json
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


class Counter:
    def __init__(self):
        self.calls = collections.Counter()
        self.write_units = 0
        self.read_units = 0
        self._lock = threading.Lock()

    def hook(self, event_name=None, params=None, model=None, **_):
        service = model.service_model.service_name if model else "?"
        op = model.name if model else "?"
        size = len(json.dumps(params, default=str)) if params else 0
        with self._lock:
            self.calls[f"{service}:{op}"] += 1
            if op in WRITES:
                self.write_units += max(1, -(-size // 1024)) * (2 if op == "TransactWriteItems" else 1)
            elif op in READS:
                self.read_units += 1

    def install(self):
        """Hook every client made from now on (the service's clients are made lazily)."""
        import botocore.client
        counter = self
        real = botocore.client.BaseClient._make_api_call

        def counted(client, operation_name, api_params):
            counter.hook(params=api_params, model=client.meta.service_model.operation_model(operation_name))
            return real(client, operation_name, api_params)
        botocore.client.BaseClient._make_api_call = counted
        self._restore = lambda: setattr(botocore.client.BaseClient, "_make_api_call", real)
        return self

    def uninstall(self):
        self._restore()

    def snapshot(self):
        with self._lock:
            return collections.Counter(self.calls), self.write_units, self.read_units

    def sqs_requests(self, calls):
        return sum(v for k, v in calls.items() if k.startswith("sqs:"))

    def ddb(self, calls):
        return sum(v for k, v in calls.items() if k.startswith("dynamodb:"))


def cost_per_million(*, api_requests, lambda_invocations, lambda_gb_seconds, sqs_requests,
                     write_units, read_units, scheduler_invocations=0.0) -> dict:
    """Everything per ONE delivery in, USD per million deliveries out, itemised."""
    p = PRICES
    parts = {
        "api_gateway": api_requests * p["apigw_request"],
        "lambda": lambda_invocations * p["lambda_request"] + lambda_gb_seconds * p["lambda_gb_second"],
        "sqs": sqs_requests * p["sqs_request"],
        "dynamodb": write_units * p["ddb_write_unit"] + read_units * p["ddb_read_unit"],
        "scheduler": scheduler_invocations * p["scheduler_invocation"],
    }
    return {k: round(v * 1e6, 3) for k, v in parts.items()} | {"total": round(sum(parts.values()) * 1e6, 3)}
