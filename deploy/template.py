"""The merge template for `chalice package --merge-template`: every resource a stage needs beyond
the functions and the API, from the same definitions provisioning uses, plus the settings Chalice
cannot express (the event source's queue reference, batching window and concurrency cap, the
last a deploy setting: INFRAI_DELIVER_CONCURRENCY; the scheduler role's ARN in the functions'
environment; log groups with a retention; the functions' JSON logging with Lambda's own lines
dropped; authorizer caching; the data table's capacity mode, a deploy setting: INFRAI_TABLE_CAPACITY,
provisioned adding its auto scaling from deploy/capacity.py). Deploy the result with `aws cloudformation deploy` (see
docs/deployment.md).

The front door is a deploy setting (deploy/stage.py: api_gateway, `make package
API_GATEWAY=rest|http`). With the HTTP API (the default) the merge template adds it (routes
`ANY /{proxy+}` and `ANY /` to the API function, payload format 1.0, a `$default` stage that
deploys itself, throttling and access logs on the stage) and points the API function's handler,
its invoke permission and the EndpointURL output at it; `finish` then takes Chalice's REST API out
of the packaged template (a merge can add and replace, not remove).

    python -m deploy.template --stage prod -o build/merge-prod.json
    python -m deploy.template --stage prod --finish build/package-prod/sam.json
"""
import argparse
import json
import sys
from pathlib import Path

from chalicelib import config

from . import alarms as deploy_alarms
from . import capacity as table_capacity
from . import gateway_responses
from . import resources as deploy_resources
from . import stage as stages

# CloudFormation logical ids of what Chalice generates (chalice/package.py naming).
API_HANDLER = "APIHandler"
REST_API = "RestAPI"
INVOKE_PERMISSION = "APIHandlerInvokePermission"
REST_ONLY_OUTPUTS = ("RestAPIId",)
# The HTTP API front door's (ours)
HTTP_API = "HttpApi"
HTTP_API_HANDLER = "app.http_api_handler"   # chalicelib/api/http_api.py: routes payload-1.0 events


def _cfn_name(name: str) -> str:
    from chalice.utils import to_cfn_resource_name
    return to_cfn_resource_name(name)


def _table(spec: dict, ttl_attribute: str) -> dict:
    props = {k: spec[k] for k in ("TableName", "BillingMode", "ProvisionedThroughput", "AttributeDefinitions",
                                  "KeySchema", "GlobalSecondaryIndexes") if k in spec}
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

    front_door = stages.api_gateway(stage)   # a bad value stops here
    with stages.applied(stage):
        max_concurrency = deploy_resources.deliver_max_concurrency()   # a bad value stops here
        capacity = table_capacity.table_capacity()   # and so does a bad capacity setting
        if app is None:
            from app import app
        fn_names = stages.function_names(stage)
        dlq_spec = app_resources.dead_letter_queue()
        data_spec = app_resources.table()
        res = {
            "DataTable": _table(data_spec, app_resources.TABLE_TTL_ATTRIBUTE),
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
        # provisioned capacity: a scalable target and a policy per table and index, writes and reads
        res.update(table_capacity.cloudformation(data_spec, capacity, "DataTable"))
        destination_arns = deploy_resources.destination_arns()
        role_env = {"Environment": {"Variables": {
            "INFRAI_SCHEDULER_ROLE_ARN": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
            # set even when empty: a deployed stage refuses a destination it was not granted
            deploy_resources.DESTINATIONS_SETTING: ",".join(destination_arns)}}}
        grant = deploy_resources.destinations_policy(destination_arns)
        if grant:   # the functions' role (Chalice's DefaultRole) gets exactly the listed ARNs
            res["DestinationsPolicy"] = {"Type": "AWS::IAM::Policy", "Properties": {
                "PolicyName": deploy_resources.DESTINATIONS_POLICY_NAME, "PolicyDocument": grant,
                "Roles": [{"Ref": "DefaultRole"}]}}
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
                            "Properties": {"FunctionName": fn_names[key], **role_env,
                                           "LoggingConfig": dict(deploy_resources.LOGGING_CONFIG)}}
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
        authorizers = list(getattr(app, "builtin_auth_handlers", []) or [])
        outputs = {
            "DispatchQueueUrl": {"Value": {"Ref": "DispatchQueue"}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
            "DataTableName": {"Value": {"Ref": "DataTable"}},
            "SchedulerRoleArn": {"Value": {"Fn::GetAtt": ["SchedulerRole", "Arn"]}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        }
        if front_door == "http":
            if authorizers:
                raise SystemExit("the HTTP API front door does not carry Chalice's authorizers "
                                 f"({', '.join(a.name for a in authorizers)}): package with API_GATEWAY=rest")
            res.update(http_api_resources())
            res[API_HANDLER]["Properties"]["Handler"] = HTTP_API_HANDLER
            outputs.update(http_api_outputs())
        else:
            _rest_api(res, authorizers, role_env)
        res.update(_alarm_resources(fn_names, {"Ref": HTTP_API} if front_door == "http" else None))
        return {"Parameters": ALARM_PARAMETERS(), "Conditions": ALARM_CONDITIONS, "Resources": res,
                "Outputs": outputs}


def _rest_api(res: dict, authorizers: list, role_env: dict) -> None:
    """The REST API's additions: API Gateway's own answers (unknown routes, ...) in our error
    format, quoting nothing; authorizer caching."""
    res[REST_API] = {"Properties": {"DefinitionBody": gateway_responses.openapi_extension()}}
    if authorizers:
        res[REST_API]["Properties"]["DefinitionBody"]["securityDefinitions"] = {
            a.name: {"x-amazon-apigateway-authorizer": {
                "authorizerResultTtlInSeconds": deploy_resources.AUTHORIZER_CACHE_TTL}}
            for a in authorizers}
        for a in authorizers:
            res.setdefault(_cfn_name(a.name), {}).setdefault("Properties", {}).update(role_env)


def http_api_resources() -> dict:
    """The HTTP API in front of the API function (call within stages.applied)."""
    api = {"Ref": HTTP_API}
    target = {"Fn::Sub": "integrations/${HttpApiIntegration}"}
    return {
        HTTP_API: {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
            "Name": stages.app_name(), "ProtocolType": "HTTP",
            "Description": f"infrai scheduling ({config.stage()}): every route to the API function"}},
        "HttpApiIntegration": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
            "ApiId": api, "IntegrationType": "AWS_PROXY",
            "IntegrationUri": {"Fn::GetAtt": [API_HANDLER, "Arn"]},
            # 1.0: the REST API's proxy event, which Chalice reads (2.0 it cannot)
            "PayloadFormatVersion": "1.0", "TimeoutInMillis": deploy_resources.HTTP_API_TIMEOUT_MS}},
        "HttpApiProxyRoute": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
            "ApiId": api, "RouteKey": "ANY /{proxy+}", "Target": target}},
        "HttpApiRootRoute": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
            "ApiId": api, "RouteKey": "ANY /", "Target": target}},
        "HttpApiAccessLogGroup": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete",
                                  "UpdateReplacePolicy": "Delete", "Properties": {
                                      "LogGroupName": deploy_resources.http_api_access_log_group(),
                                      "RetentionInDays": deploy_resources.LOG_RETENTION_DAYS}},
        "HttpApiStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
            "ApiId": api, "StageName": "$default", "AutoDeploy": True,
            # the whole API's ceiling, in place of a REST API's usage plans (none per key here)
            "DefaultRouteSettings": {"ThrottlingRateLimit": deploy_resources.HTTP_API_RATE_LIMIT,
                                     "ThrottlingBurstLimit": deploy_resources.HTTP_API_BURST_LIMIT,
                                     "DetailedMetricsEnabled": False},
            "AccessLogSettings": {"DestinationArn": {"Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]},
                                  "Format": deploy_resources.HTTP_API_ACCESS_LOG_FORMAT}}},
        # Chalice's permission for its REST API, pointed at the HTTP API instead
        INVOKE_PERMISSION: {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": API_HANDLER}, "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"}}},
    }


def http_api_outputs() -> dict:
    """EndpointURL as the REST variant names it (the client's INFRAI_BASE_URL; no stage path)."""
    return {"EndpointURL": {"Value": {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"}},
            "HttpApiId": {"Value": {"Ref": HTTP_API}}}


def finish(sam: dict, stage: str) -> dict:
    """The packaged template with the chosen front door only: for the HTTP API, Chalice's REST
    API and its id output are taken out. Stops if anything still refers to them."""
    if stages.api_gateway(stage) != "http":
        return sam
    sam = json.loads(json.dumps(sam))
    sam["Resources"].pop(REST_API, None)
    for name in REST_ONLY_OUTPUTS:
        sam.get("Outputs", {}).pop(name, None)
    text = json.dumps(sam)
    if f'"{REST_API}"' in text or "${" + REST_API + "}" in text:
        raise SystemExit(f"the packaged template still refers to {REST_API} after the HTTP API replaced it")
    return sam


def ALARM_PARAMETERS() -> dict:   # noqa: N802 - a template section
    return {"AlarmEmail": {"Type": "String", "Default": deploy_alarms.alarm_email() or "",
                           "Description": "E-mail address alarms notify (empty: subscribe to the topic yourself)"}}


ALARM_CONDITIONS = {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}}


def _alarm_resources(fn_names: dict, http_api_id=None) -> dict:
    """The alarms' SNS topic (and e-mail subscription), the alarms and the dashboard (deploy/alarms.py)."""
    api_name = stages.app_name()
    # the dashboard's body is a Fn::Sub string: the HTTP API's id as ${HttpApi}
    dash_api_id = "${" + HTTP_API + "}" if http_api_id is not None else None
    res = {"AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": deploy_alarms.topic_name()}},
           "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail", "Properties": {
               "TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}},
           "OperationsDashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
               "DashboardName": deploy_alarms.dashboard_name(),
               "DashboardBody": {"Fn::Sub": deploy_alarms.dashboard_json(fn_names, api_name, "${AWS::Region}",
                                                                         dash_api_id)}}}}
    for spec in deploy_alarms.alarms(fn_names, api_name, {"Ref": "AlarmTopic"}, http_api_id):
        suffix = spec["AlarmName"].removeprefix(deploy_alarms.config.prefix() + "-")
        logical = "Alarm" + "".join(w.capitalize() for w in suffix.split("-"))
        res[logical] = {"Type": "AWS::CloudWatch::Alarm", "Properties": spec}
    return res


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.template", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("-o", "--output", help="write the merge template here")
    what.add_argument("--finish", metavar="SAM_JSON", help="finish a packaged template in place")
    args = parser.parse_args(argv)
    if args.finish:
        path = Path(args.finish)
        path.write_text(json.dumps(finish(json.loads(path.read_text()), args.stage), indent=2) + "\n")
        return 0
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merge_template(args.stage), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
