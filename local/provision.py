"""Create every resource in chalicelib/aws/resources.py, idempotently: a second run changes
nothing. Used by the local stack and the tests (against moto), and by deployment."""
from chalicelib.aws import clients, resources


def provision() -> dict:
    ddb, sqs, sched = clients.dynamodb(), clients.sqs(), clients.scheduler()
    existing = set(ddb.list_tables()["TableNames"])
    for spec, ttl_attr in ((resources.table(), resources.TABLE_TTL_ATTRIBUTE),
                           (resources.idempotency_table(), resources.IDEMPOTENCY_TTL_ATTRIBUTE)):
        if spec["TableName"] not in existing:
            ddb.create_table(**spec)
            ddb.get_waiter("table_exists").wait(TableName=spec["TableName"])
            ddb.update_time_to_live(TableName=spec["TableName"],
                                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attr})
        else:
            add_missing_indexes(ddb, spec)
            drop_obsolete_indexes(ddb, spec)
    dlq = resources.dead_letter_queue()
    dlq_url = sqs.create_queue(**dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    dispatch_url = sqs.create_queue(**resources.dispatch_queue(dlq_arn))["QueueUrl"]
    group = resources.schedule_group()
    names = {g["Name"] for g in sched.list_schedule_groups()["ScheduleGroups"]}
    if group["Name"] not in names:
        sched.create_schedule_group(**group)
    return {"dispatch_queue_url": dispatch_url, "dead_letter_queue_url": dlq_url}


def _settled_indexes(ddb, table_name: str, poll_seconds: float) -> set[str]:
    """The table's indexes, once none is being created or deleted (DynamoDB takes one index
    change per UpdateTable, and the next only once the last is done)."""
    import time
    while True:
        table = ddb.describe_table(TableName=table_name)["Table"]
        have = {g["IndexName"]: g.get("IndexStatus", "ACTIVE") for g in table.get("GlobalSecondaryIndexes", [])}
        if all(status == "ACTIVE" for status in have.values()):
            return set(have)
        time.sleep(poll_seconds)


def add_missing_indexes(ddb, spec: dict, poll_seconds: float = 5.0) -> list[str]:
    """An upgrade that adds a global secondary index (e.g. the due index) to a table that exists,
    one per UpdateTable."""
    added = []
    wanted = {g["IndexName"]: g for g in spec.get("GlobalSecondaryIndexes", [])}
    while True:
        missing = [name for name in wanted if name not in _settled_indexes(ddb, spec["TableName"], poll_seconds)]
        if not missing:
            return added
        index = wanted[missing[0]]
        attrs = {k["AttributeName"] for k in index["KeySchema"]}
        ddb.update_table(TableName=spec["TableName"],
                         AttributeDefinitions=[d for d in spec["AttributeDefinitions"] if d["AttributeName"] in attrs],
                         GlobalSecondaryIndexUpdates=[{"Create": index}])
        added.append(missing[0])


def drop_obsolete_indexes(ddb, spec: dict, poll_seconds: float = 5.0) -> list[str]:
    """After an upgrade's new indexes are active, delete those it replaced
    (resources.OBSOLETE_INDEXES: the list indexes before issue 23), one per UpdateTable: an
    index nothing reads still bills a write for every item that carries its key."""
    dropped = []
    wanted = {g["IndexName"] for g in spec.get("GlobalSecondaryIndexes", [])}
    while True:
        have = _settled_indexes(ddb, spec["TableName"], poll_seconds)
        gone = [n for n in resources.OBSOLETE_INDEXES if n in have and n not in wanted]
        if not gone:
            return dropped
        ddb.update_table(TableName=spec["TableName"], GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": gone[0]}}])
        dropped.append(gone[0])
