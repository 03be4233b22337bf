"""The EventBridge Scheduler adapter ("the clock"): one schedule per AWS expression of a cron
job, in the stage's schedule group, sending {cron, at} to the dispatch queue at each firing."""
import functools
import json

from botocore.exceptions import ClientError

from .. import config
from . import clients, dispatch

# Scheduler retries a failed send to SQS for up to a day before giving up on that firing.
RETRY_POLICY = {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
LOCAL_ROLE = "arn:aws:iam::123456789012:role/infrai-local-scheduler"


def schedule_names(cron_id: str, count: int) -> list[str]:
    """`cron_…` for the first expression, `cron_…-2` for the second (the day-of-month OR split)."""
    return [cron_id if i == 0 else f"{cron_id}-{i + 1}" for i in range(count)]


@functools.lru_cache(maxsize=4)
def _queue_arn(url: str) -> str:
    attrs = clients.sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attrs["Attributes"]["QueueArn"]


def _target(cron_id: str) -> dict:
    return {
        "Arn": _queue_arn(dispatch.dispatch_queue_url()),
        "RoleArn": config.scheduler_role_arn() or LOCAL_ROLE,
        "Input": json.dumps({"cron": cron_id, "at": "<aws.scheduler.scheduled-time>"}),
        "RetryPolicy": RETRY_POLICY,
        "DeadLetterConfig": {"Arn": _queue_arn(dispatch.dead_letter_queue_url())},
    }


def put(name: str, cron_id: str, expression: str, timezone: str, enabled: bool) -> None:
    """Create the schedule, or update it if it exists: the same call converges either way."""
    args = {"Name": name, "GroupName": config.schedule_group(), "ScheduleExpression": expression,
            "ScheduleExpressionTimezone": timezone, "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED" if enabled else "DISABLED", "Target": _target(cron_id),
            "Description": f"infrai cron job {cron_id}"}
    sched = clients.scheduler()
    try:
        sched.create_schedule(**args)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConflictException":
            raise
        sched.update_schedule(**args)


def delete(name: str) -> None:
    try:
        clients.scheduler().delete_schedule(Name=name, GroupName=config.schedule_group())
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def reset() -> None:
    _queue_arn.cache_clear()
