"""What tells an operator that something is wrong, written once for both deploy paths: the SNS
topic alarms notify (with an optional e-mail subscription given at deploy time), the CloudWatch
alarms and the dashboard. `provision.py` creates them with boto3 (`make deploy`), `template.py`
as CloudFormation (`make package`); the specs below are PutMetricAlarm's parameters, which are
also the AWS::CloudWatch::Alarm properties.

The service's own metrics (chalicelib/observability.py) come from the deliver function's logs in
CloudWatch's embedded metric format: namespace InfraiScheduling, dimension `service`."""
import json
import os

from chalicelib import config, observability

ALARM_EMAIL_ENV = "INFRAI_ALARM_EMAIL"   # make deploy ALARM_EMAIL=ops@example.com sets it
PERIOD = 300
OLDEST_MESSAGE_SECONDS = 1800   # work waits at most 900 s by design (SQS's delay ceiling); twice that is stuck
LATENESS_P99_MS = 60_000        # a cron run or delayed delivery a minute late, at the 99th percentile


def topic_name() -> str:
    return f"{config.prefix()}-alarms"


def dashboard_name() -> str:
    return f"{config.prefix()}-operations"


def alarm_email() -> str | None:
    return os.environ.get(ALARM_EMAIL_ENV) or None


def _service_metric(name: str, **dims) -> tuple[str, str, list]:
    dimensions = [{"Name": "service", "Value": observability.SERVICE}]
    dimensions += [{"Name": k, "Value": v} for k, v in dims.items()]
    return observability.NAMESPACE, name, dimensions


def api_5xx_metric(api_name: str, http_api_id=None) -> tuple[str, str, list]:
    """The API's 5xx answers: a REST API's `5XXError` by ApiName, an HTTP API's `5xx` by ApiId
    (`http_api_id` may be a CloudFormation Ref)."""
    if http_api_id is not None:
        return "AWS/ApiGateway", "5xx", [{"Name": "ApiId", "Value": http_api_id}]
    return "AWS/ApiGateway", "5XXError", [{"Name": "ApiName", "Value": api_name}]


def alarms(function_names: dict, api_name: str, topic_arn, http_api_id=None) -> list[dict]:
    """PutMetricAlarm parameters, one dict per alarm; `topic_arn` may be a CloudFormation Ref;
    `http_api_id` (an HTTP API front door's id or Ref) moves the API alarm to its metric."""
    p = config.prefix()
    fn = function_names["deliver"]

    def alarm(suffix, description, namespace, metric, dimensions, threshold, *, stat="Maximum",
              op="GreaterThanOrEqualToThreshold", periods=1, missing="notBreaching"):
        spec = {"AlarmName": f"{p}-{suffix}", "AlarmDescription": description, "Namespace": namespace,
                "MetricName": metric, "Dimensions": dimensions, "Period": PERIOD,
                "EvaluationPeriods": periods, "Threshold": threshold, "ComparisonOperator": op,
                "TreatMissingData": missing, "AlarmActions": [topic_arn], "OKActions": [topic_arn]}
        if stat.startswith("p"):
            spec["ExtendedStatistic"] = stat
        else:
            spec["Statistic"] = stat
        return spec
    return [
        alarm("dlq-not-empty", "Deliveries dead-lettered or messages nobody could read: see the DLQ and "
              "GET /v1/scheduling/deliveries?state=failed; replay with POST /v1/scheduling/deliveries/replay.",
              "AWS/SQS", "ApproximateNumberOfMessagesVisible",
              [{"Name": "QueueName", "Value": config.dead_letter_queue_name()}], 1),
        alarm("dispatch-oldest-message", "Work waits on the dispatch queue longer than any delay should: "
              "the deliver function is failing, throttled or capped.", "AWS/SQS", "ApproximateAgeOfOldestMessage",
              [{"Name": "QueueName", "Value": config.dispatch_queue_name()}], OLDEST_MESSAGE_SECONDS, periods=2),
        alarm("deliver-errors", "The deliver function raised (its batch comes back; see its logs).",
              "AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": fn}], 1, stat="Sum", periods=2),
        alarm("deliver-throttles", "The deliver function was throttled (account concurrency).",
              "AWS/Lambda", "Throttles", [{"Name": "FunctionName", "Value": fn}], 1, stat="Sum"),
        alarm("api-5xx", "The API answered 5xx.", *api_5xx_metric(api_name, http_api_id), 5, stat="Sum"),
        alarm("repairs-quarantined", "The reconciler could not repair an item 5 times: it is quarantined "
              "(retried hourly). GET /v1/scheduling/deliveries shows it with `repair.error`; fix the cause.",
              *_service_metric("RepairsQuarantined"), 1, stat="Sum"),
        alarm("lateness-p99", "Cron runs or delayed deliveries went out late (p99 of sent at - due at).",
              *_service_metric("Lateness"), LATENESS_P99_MS, stat="p99", op="GreaterThanThreshold", periods=2),
    ]


def dashboard(function_names: dict, api_name: str, region, http_api_id=None) -> dict:
    """The dashboard body (CloudWatch's JSON)."""
    api_ns, api_metric, [api_dim] = api_5xx_metric(api_name, http_api_id)
    ns, svc = observability.NAMESPACE, ["service", observability.SERVICE]
    fn = function_names["deliver"]

    def widget(title, metrics, stat="Sum", x=0, y=0, w=12):
        return {"type": "metric", "x": x, "y": y, "width": w, "height": 6,
                "properties": {"title": title, "region": region, "stat": stat, "period": PERIOD,
                               "view": "timeSeries", "metrics": metrics}}
    return {"widgets": [
        widget("Attempts by outcome", [[ns, m, *svc] for m in observability.BY_OUTCOME.values()]),
        widget("Deliveries succeeded / failed", [[ns, "DeliveriesSucceeded", *svc], [ns, "DeliveriesFailed", *svc]], x=12),
        widget("Attempt latency (ms)", [[ns, "AttemptLatency", *svc, {"stat": s, "label": s}] for s in ("p50", "p99")],
               stat="p50", y=6),
        widget("Lateness, cron runs and delays (ms)", [[ns, "Lateness", *svc, {"stat": s, "label": s}]
                                                       for s in ("p50", "p99")], stat="p99", x=12, y=6),
        widget("Stranded items repaired", [[ns, "StrandedRepaired", "kind", k, *svc] for k in ("delivery", "queue_release")],
               y=12),
        widget("Queues: DLQ depth, oldest dispatch message (s)", [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", config.dead_letter_queue_name()],
            ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", config.dispatch_queue_name()]],
               stat="Maximum", x=12, y=12),
        widget("Deliver function errors / throttles", [["AWS/Lambda", "Errors", "FunctionName", fn],
                                                       ["AWS/Lambda", "Throttles", "FunctionName", fn]], y=18),
        widget("API 5xx", [[api_ns, api_metric, api_dim["Name"], api_dim["Value"]]], x=12, y=18),
    ]}


def dashboard_json(function_names: dict, api_name: str, region, http_api_id=None) -> str:
    return json.dumps(dashboard(function_names, api_name, region, http_api_id), sort_keys=True)
