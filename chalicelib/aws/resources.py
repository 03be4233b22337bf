"""Every AWS resource the service needs, written once. Local provisioning (local/provision.py),
the tests and deployment (issue 7) all read these definitions."""
import json

from .. import config

DELIVER_FUNCTION_TIMEOUT = 360          # seconds; > the longest attempt (300 s) plus bookkeeping
DISPATCH_VISIBILITY_TIMEOUT = 6 * DELIVER_FUNCTION_TIMEOUT   # AWS's advice for SQS-triggered Lambdas
MAX_RECEIVE_COUNT = 5                   # a message that crashes the handler 5 times is poison -> DLQ
DLQ_RETENTION = 14 * 24 * 3600          # the SQS maximum


def table():
    """The data table, on-demand unless the deploy setting INFRAI_TABLE_CAPACITY asks for
    provisioned capacity (config.table_capacity): then the table and every index start at the
    minimum units, which Application Auto Scaling moves (deploy/capacity.py)."""
    spec = {
        "TableName": config.table_name(),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": "S"}
            for n in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk")
        ] + [{"AttributeName": n, "AttributeType": "S"}
             for n in (*dict.fromkeys(DELIVERY_INDEXES.values()), DELIVERY_INDEX_SORT)],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            _gsi("gsi1"),   # a project's records of one kind, newest first (ids sort by time)
            _gsi("gsi2"),   # the same, narrowed to one state
            _gsi("gsi3", keys_only=True),   # sparse: what is due, by when (core/due.py; the reconciler)
            *[_delivery_gsi(name, key) for name, key in DELIVERY_INDEXES.items()],
        ],
    }
    capacity = config.table_capacity()
    if capacity is None:
        return spec
    throughput = {"ReadCapacityUnits": capacity["read"][0], "WriteCapacityUnits": capacity["write"][0]}
    return {**spec, "BillingMode": "PROVISIONED", "ProvisionedThroughput": throughput,
            "GlobalSecondaryIndexes": [{**g, "ProvisionedThroughput": dict(throughput)}
                                       for g in spec["GlobalSecondaryIndexes"]]}


def _gsi(name, keys_only=False):
    # the due index holds keys only: an index write per marker stays small, and the reconciler
    # reads each due item itself (strongly consistent) before repairing it
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": f"{name}pk", "KeyType": "HASH"},
                          {"AttributeName": f"{name}sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY" if keys_only else "ALL"}}


# GET /v1/scheduling/deliveries (chalicelib/services/delivery/delivery_list.py): three indexes,
# each partitioned by "<project>[#<value>]#<shard>" (LIST_SHARDS of them, so one project's
# deliveries spread over that many partitions) and sorted by `ix_created` (creation time, then
# id). Index name -> its partition key attribute. `ix_list` holds every delivery and projects
# the three attributes a filter may test without reading the record, all fixed at creation (so
# no later write touches the entry); `ix_state` and `ix_status` are sparse: only the states and
# status codes people look for (docs/costs.md).
DELIVERY_INDEXES = {"ix_list": "ix_all", "ix_state": "ix_state", "ix_status": "ix_status"}
DELIVERY_INDEX_SORT = "ix_created"
LIST_PROJECTION = ("kind", "ix_host", "ix_cron")
# The list indexes before issue 23 (keys only, one partition per project and value): dropped by
# provisioning (local/provision.py converge_indexes) once the new ones are active.
OBSOLETE_INDEXES = ("ix_all", "ix_kind", "ix_queue", "ix_cron", "ix_host")


def _delivery_gsi(name, key):
    projection = ({"ProjectionType": "INCLUDE", "NonKeyAttributes": list(LIST_PROJECTION)} if name == "ix_list"
                  else {"ProjectionType": "KEYS_ONLY"})
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"},
                          {"AttributeName": DELIVERY_INDEX_SORT, "KeyType": "RANGE"}],
            "Projection": projection}


TABLE_TTL_ATTRIBUTE = "ttl"


def idempotency_table():
    """Powertools' default layout (partition key `id`, TTL `expiration`)."""
    return {
        "TableName": config.idempotency_table_name(),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    }


IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"


def dead_letter_queue():
    return {"QueueName": config.dead_letter_queue_name(),
            "Attributes": {"MessageRetentionPeriod": str(DLQ_RETENTION)}}


def dispatch_queue(dlq_arn: str):
    return {"QueueName": config.dispatch_queue_name(),
            "Attributes": {
                "VisibilityTimeout": str(DISPATCH_VISIBILITY_TIMEOUT),
                "MessageRetentionPeriod": str(DLQ_RETENTION),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                             "maxReceiveCount": str(MAX_RECEIVE_COUNT)}),
            }}


def schedule_group():
    return {"Name": config.schedule_group()}
