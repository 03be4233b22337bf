"""Every AWS resource the service needs, written once. Local provisioning (local/provision.py),
the tests and deployment (issue 7) all read these definitions."""
from .. import config

DELIVER_FUNCTION_TIMEOUT = 360          # seconds; > the longest attempt (300 s) plus bookkeeping
DISPATCH_VISIBILITY_TIMEOUT = 6 * DELIVER_FUNCTION_TIMEOUT   # AWS's advice for SQS-triggered Lambdas
MAX_RECEIVE_COUNT = 5                   # a message that crashes the handler 5 times is poison -> DLQ
DLQ_RETENTION = 14 * 24 * 3600          # the SQS maximum


def table():
    return {
        "TableName": config.table_name(),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": "S"}
            for n in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk")
        ] + [{"AttributeName": n, "AttributeType": "S"} for n in (*DELIVERY_INDEXES, DELIVERY_INDEX_SORT)],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            _gsi("gsi1"),   # a project's records of one kind, newest first (ids sort by time)
            _gsi("gsi2"),   # the same, narrowed to one state
            _gsi("gsi3", keys_only=True),   # sparse: what is due, by when (core/due.py; the reconciler)
            *[_delivery_gsi(n) for n in DELIVERY_INDEXES],
        ],
    }


def _gsi(name, keys_only=False):
    # the due index holds keys only: an index write per marker stays small, and the reconciler
    # reads each due item itself (strongly consistent) before repairing it
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": f"{name}pk", "KeyType": "HASH"},
                          {"AttributeName": f"{name}sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY" if keys_only else "ALL"}}


# GET /v1/scheduling/deliveries: one index per filter, each partitioned by "<project>#<value>"
# and sorted by creation time (chalicelib/services/delivery/delivery_index.py). Keys only: an index item
# is written when its key changes, not on every attempt (docs/costs.md).
DELIVERY_INDEXES = ("ix_all", "ix_state", "ix_kind", "ix_queue", "ix_cron", "ix_host", "ix_status")
DELIVERY_INDEX_SORT = "ix_created"


def _delivery_gsi(name):
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": name, "KeyType": "HASH"},
                          {"AttributeName": DELIVERY_INDEX_SORT, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}


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
    import json
    return {"QueueName": config.dispatch_queue_name(),
            "Attributes": {
                "VisibilityTimeout": str(DISPATCH_VISIBILITY_TIMEOUT),
                "MessageRetentionPeriod": str(DLQ_RETENTION),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                             "maxReceiveCount": str(MAX_RECEIVE_COUNT)}),
            }}


def schedule_group():
    return {"Name": config.schedule_group()}
