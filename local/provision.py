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
    dlq = resources.dead_letter_queue()
    dlq_url = sqs.create_queue(**dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    dispatch_url = sqs.create_queue(**resources.dispatch_queue(dlq_arn))["QueueUrl"]
    group = resources.schedule_group()
    names = {g["Name"] for g in sched.list_schedule_groups()["ScheduleGroups"]}
    if group["Name"] not in names:
        sched.create_schedule_group(**group)
    return {"dispatch_queue_url": dispatch_url, "dead_letter_queue_url": dlq_url}
