"""What a deployed stage needs beyond chalicelib/aws/resources.py (which the local stack shares):
the role EventBridge Scheduler assumes, the functions' log groups, the deliver function's event
source settings. Written once; `provision.py` creates them with boto3, `template.py` as
CloudFormation."""
import json

from chalicelib import config
from chalicelib.core import destinations

SCHEDULER_SERVICE = "scheduler.amazonaws.com"
LOG_RETENTION_DAYS = 30
# The deliver function's SQS event source. Batches of 10 are sent concurrently; a 1 s window
# fills batches under load at the cost of at most 1 s of latency; the concurrency cap (a deploy
# setting, deliver_max_concurrency() below) keeps a burst from taking the account's whole Lambda
# concurrency, and sets the deployment's throughput: cap x 10 sends in flight.
DELIVER_BATCH_SIZE = 10
DELIVER_BATCHING_WINDOW = 1
# The handler answers {"batchItemFailures": [...]}: only those messages come back, so one bad
# message never re-runs (or forks the work of) its batch-mates. Chalice never sets this.
DELIVER_RESPONSE_TYPES = ["ReportBatchItemFailures"]
# API Gateway caches an authorizer's answer per Authorization header for this long.
AUTHORIZER_CACHE_TTL = 300
# Every function logs JSON; Lambda drops its own START/END/REPORT lines (system logs below WARN)
# and application lines below INFO (our EMF documents carry no level: Lambda reads them as INFO,
# so ApplicationLogLevel must never be raised above INFO). docs/operations.md#what-the-logs-cost
LOGGING_CONFIG = {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}
# The HTTP API's stage throttling, for the whole API: API Gateway's account default (10,000
# requests/s, a burst of 5,000) stated, so the stage holds it when the account's is raised and
# a flood is refused at the door (429) before it takes the API function's concurrency. A
# project's own limits are its plan's, enforced by the app (docs/limits.md).
HTTP_API_RATE_LIMIT = 10_000
HTTP_API_BURST_LIMIT = 5_000
HTTP_API_TIMEOUT_MS = 30_000   # the integration's longest wait; the API function's timeout is 29 s
# One line per request, with nothing from the request's headers, query or body.
# (CloudWatch stamps each line's time itself.)
HTTP_API_ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "method": "$context.httpMethod",
    "path": "$context.path", "status": "$context.status", "ms": "$context.responseLatency",
    "error": "$context.integrationErrorMessage"}, separators=(",", ":"))


def deliver_max_concurrency() -> int:
    """The event source's ScalingConfig.MaximumConcurrency: INFRAI_DELIVER_CONCURRENCY as the
    deployer gave it (`make deploy DELIVER_CONCURRENCY=n`) or the stage records it, else the
    default (chalicelib/config.py). Out of Lambda's range (2 to 1,000) it stops the deploy or
    package before anything is made, saying why."""
    try:
        return config.deliver_concurrency()
    except ValueError as e:
        raise SystemExit(str(e)) from None


def scheduler_role_name() -> str:
    return f"{config.prefix()}-scheduler"


def scheduler_trust_policy(account_id) -> dict:
    """Only Scheduler, and only on behalf of this account (the confused-deputy guard)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": SCHEDULER_SERVICE}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}]}


def scheduler_policy(dispatch_queue_arn, dead_letter_queue_arn) -> dict:
    """A schedule's target is the dispatch queue; a schedule whose send fails goes to the DLQ
    (the schedule's DeadLetterConfig), also sent with this role."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sqs:SendMessage",
        "Resource": [dispatch_queue_arn, dead_letter_queue_arn]}]}


SCHEDULER_POLICY_NAME = "send-to-dispatch-queue"

# Destinations in the user's AWS account (chalicelib/core/destinations.py): the deploy setting
# INFRAI_DESTINATION_ARNS lists them; the functions' role gets exactly these, nothing wider.
DESTINATIONS_SETTING = "INFRAI_DESTINATION_ARNS"
DESTINATIONS_POLICY_NAME = "send-to-destinations"
_GRANTS = {"sqs": "sqs:SendMessage", "eventbridge": "events:PutEvents", "role": "sts:AssumeRole"}


def destination_arns() -> list[str]:
    """The setting's ARNs (comma or space separated), each checked: a typo stops the deploy."""
    arns = config.destination_arns() or []
    bad = [a for a in arns if destinations.grant_kind(a) is None]
    if bad:
        raise SystemExit(f"{DESTINATIONS_SETTING}: {bad[0]!r} is not an SQS queue ARN "
                         f"({destinations.SHAPES['sqs']}), an EventBridge bus ARN ({destinations.SHAPES['eventbridge']}) "
                         "or an IAM role ARN (arn:aws:iam::<account>:role/<name>)  (docs/deployment.md)")
    return list(dict.fromkeys(arns))


def destinations_policy(arns: list[str]) -> dict | None:
    """The functions' grant for the listed destinations: SendMessage on the queues, PutEvents on
    the buses, AssumeRole on the roles, each on exactly those ARNs; None for an empty list."""
    statements = []
    for kind, action in _GRANTS.items():
        listed = [a for a in arns if destinations.grant_kind(a) == kind]
        if listed:
            statements.append({"Sid": f"Destinations{kind.title()}", "Effect": "Allow", "Action": action,
                               "Resource": listed})
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def seal_key_parameter_name(stage: str) -> str:
    """The SSM SecureString holding a stage's sealing key (chalicelib/config.py seal_keys): the
    name a stage's INFRAI_SEAL_KEY_PARAMETER carries in .chalice/config.json."""
    return f"/infrai/{stage}/seal-key"


SEAL_KEY_BYTES = 32   # AES-256-GCM (chalicelib/core/at_rest.py)


def http_api_access_log_group() -> str:
    return f"/aws/apigateway/{config.prefix()}-access"


def log_group_names(function_names: dict) -> list[str]:
    return [f"/aws/lambda/{name}" for name in function_names.values()]


def dump(doc) -> str:
    return json.dumps(doc, sort_keys=True)
