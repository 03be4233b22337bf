"""The merge template for `chalice package --merge-template`: every resource a stage needs beyond
the functions and the API, from the same definitions provisioning uses, plus the settings Chalice
cannot express (the event source's queue reference, batching window and concurrency cap, the
last a deploy setting: INFRAI_DELIVER_CONCURRENCY; the scheduler role's ARN in the functions'
environment; log groups with a retention; authorizer caching). Deploy the result with
`aws cloudformation deploy` (see docs/deployment.md).

    python -m deploy.template --stage prod -o build/merge-prod.json
"""
import argparse
import json
import sys
from pathlib import Path

from . import alarms as deploy_alarms
from . import gateway_responses
from . import resources as deploy_resources
from . import stage as stages

# CloudFormation logical ids of what Chalice generates (chalice/package.py naming).
API_HANDLER = "APIHandler"
REST_API = "RestAPI"


def _cfn_name(name: str) -> str:
    from chalice.utils import to_cfn_resource_name
    return to_cfn_resource_name(name)


def _table(spec: dict, ttl_attribute: str) -> dict:
    props = {k: spec[k] for k in ("TableName", "BillingMode", "AttributeDefinitions", "KeySchema",
                                  "GlobalSecondaryIndexes") if k in spec}
    props["TimeToLiveSpecification"] = {"AttributeName": ttl_attribute, "Enabled": True}
    props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    # Data outlives a stack: deleting or replacing the stack keeps the tables.
    return {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain", "Properties": props}


def _queue(spec: dict, dlq_logical_id: str | None = None) -> dict:
    attrs = spec["Attributes"]
    props = {"QueueName": spec["QueueName"],
             "MessageRetentionPeriod": int(attrs["MessageRetentionPeriod"])}
    if "VisibilityTimeout" in attrs:
        props["VisibilityTimeout"] = int(attrs["VisibilityTimeout"])
    if "RedrivePolicy" in attrs:
        redrive = json.loads(attrs["RedrivePolicy"])
        props["RedrivePolicy"] = {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_logical_id, "Arn"]},
                                  "maxReceiveCount": int(redrive["maxReceiveCount"])}
    return {"Type": "AWS::SQS::Queue", "Properties": props}


def _sqs_handlers(app):
    """(function name, its SQS event source's logical name) for each @app.on_sqs_message."""
    from chalice.app import SQSEventConfig
    return [(s.name, _cfn_name(s.name) + "SqsEventSource")
            for s in app.event_sources if isinstance(s, SQSEventConfig)]


def merge_template(stage: str, app=None) -> dict:
    from chalicelib.aws import resources as app_resources

    with stages.applied(stage):
        max_concurrency = deploy_resources.deliver_max_concurrency()   # a bad value stops here
        if app is None:
            from app import app
        fn_names = stages.function_names(stage)
        dlq_spec = app_resources.dead_letter_queue()
        res = {
            "DataTable": _table(app_resources.table(), app_resources.TABLE_TTL_ATTRIBUTE),
            "IdempotencyTable": _table(app_resources.idempotency_table(),
                                       app_resources.IDEMPOTENCY_TTL_ATTRIBUTE),
            "DeadLetterQueue": _queue(dlq_spec),
            "DispatchQueue": _queue(app_resources.dispatch_queue("DLQ"), "DeadLetterQueue"),
            "ScheduleGroup": {"Type": "AWS::Scheduler::ScheduleGroup",
                              "Properties": app_resources.schedule_group()},
            "SchedulerRole": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": deploy_resources.scheduler_role_name(),
                "AssumeRolePolicyDocument": deploy_resources.scheduler_trust_policy(
                    {"Ref": "AWS::AccountId"}),
                "Policies": [{"PolicyName": deploy_resources.SCHEDULER_POLICY_NAME,
                              "PolicyDocument": deploy_resources.scheduler_policy(
                                  {"Fn::GetAtt": ["DispatchQueue", "Arn"]},
                                  {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]})}]}},
        }
        role_env = {"Environment": {"Variables": {
            "INFRAI_SCHEDULER_ROLE_ARN": {"Fn::GetAtt": ["SchedulerRole", "Arn"]}}}}
        # Name the functions as `chalice deploy` does, so log groups (made first, with a
        # retention) and dashboards are the same whichever way a stage was deployed.
        for key, logical in (("api_handler", API_HANDLER), ("deliver", _cfn_name("deliver")),
                             ("reconcile", _cfn_name("reconcile"))):
            log_id = logical + "LogGroup"
            res[log_id] = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete",
                           "UpdateReplacePolicy": "Delete", "Properties": {
                               "LogGroupName": f"/aws/lambda/{fn_names[key]}",
                               "RetentionInDays": deploy_resources.LOG_RETENTION_DAYS}}
            res[logical] = {"DependsOn": [log_id, "DispatchQueue", "DeadLetterQueue", "DataTable",
                                          "IdempotencyTable", "ScheduleGroup"],
                            "Properties": {"FunctionName": fn_names[key], **role_env}}
        for name, event in _sqs_handlers(app):
            res.setdefault(_cfn_name(name), {"Properties": {}})["Properties"]["Events"] = {
                # Chalice's Queue (an ARN built from the queue's name) stays: a merged
                # Fn::GetAtt would sit beside its Fn::Sub. DependsOn above orders the two.
                event: {"Properties": {
                    "BatchSize": deploy_resources.DELIVER_BATCH_SIZE,
                    "MaximumBatchingWindowInSeconds": deploy_resources.DELIVER_BATCHING_WINDOW,
                    "ScalingConfig": {"MaximumConcurrency": max_concurrency},
                    "FunctionResponseTypes": deploy_resources.DELIVER_RESPONSE_TYPES,
                }}}
        # API Gateway's own answers (unknown routes, ...) in our error format, quoting nothing
        res[REST_API] = {"Properties": {"DefinitionBody": gateway_responses.openapi_extension()}}
        authorizers = list(getattr(app, "builtin_auth_handlers", []) or [])
        if authorizers:
            res[REST_API]["Properties"]["DefinitionBody"]["securityDefinitions"] = {
                a.name: {"x-amazon-apigateway-authorizer": {
                    "authorizerResultTtlInSeconds": deploy_resources.AUTHORIZER_CACHE_TTL}}
                for a in authorizers}
            for a in authorizers:
                res.setdefault(_cfn_name(a.name), {}).setdefault("Properties", {}).update(role_env)
        res.update(_alarm_resources(fn_names))
        return {"Parameters": ALARM_PARAMETERS(), "Conditions": ALARM_CONDITIONS, "Resources": res, "Outputs": {
            "DispatchQueueUrl": {"Value": {"Ref": "DispatchQueue"}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
            "DataTableName": {"Value": {"Ref": "DataTable"}},
            "SchedulerRoleArn": {"Value": {"Fn::GetAtt": ["SchedulerRole", "Arn"]}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        }}


def ALARM_PARAMETERS() -> dict:   # noqa: N802 - a template section
    return {"AlarmEmail": {"Type": "String", "Default": deploy_alarms.alarm_email() or "",
                           "Description": "E-mail address alarms notify (empty: subscribe to the topic yourself)"}}


ALARM_CONDITIONS = {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}}


def _alarm_resources(fn_names: dict) -> dict:
    """The alarms' SNS topic (and e-mail subscription), the alarms and the dashboard (deploy/alarms.py)."""
    api_name = stages.app_name()
    res = {"AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": deploy_alarms.topic_name()}},
           "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail", "Properties": {
               "TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}},
           "OperationsDashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
               "DashboardName": deploy_alarms.dashboard_name(),
               "DashboardBody": {"Fn::Sub": deploy_alarms.dashboard_json(fn_names, api_name, "${AWS::Region}")}}}}
    for spec in deploy_alarms.alarms(fn_names, api_name, {"Ref": "AlarmTopic"}):
        suffix = spec["AlarmName"].removeprefix(deploy_alarms.config.prefix() + "-")
        logical = "Alarm" + "".join(w.capitalize() for w in suffix.split("-"))
        res[logical] = {"Type": "AWS::CloudWatch::Alarm", "Properties": spec}
    return res


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.template", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merge_template(args.stage), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
