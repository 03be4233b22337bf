"""The packaged template (`chalice package --merge-template`) has every resource, wired as the
design says, and passes samtranslator + cfn-lint without errors."""
import json
import re

import pytest

from chalicelib.aws import resources
from deploy import resources as deploy_resources
from deploy import stage as stages

from .conftest import PACKAGED_DELIVER_CONCURRENCY, PACKAGED_STAGE, ROOT

STAGE_ENV = stages.stage_environment(PACKAGED_STAGE)


_translated: dict = {}


def translate(packaged) -> dict:
    """The CloudFormation samtranslator makes of a packaged template, checked by cfn-lint (once)."""
    from deploy import check_template
    key = packaged["front_door"]
    if key not in _translated:
        try:
            _translated[key] = check_template.check(packaged["sam"])[0]
        except check_template.TemplateError as e:
            pytest.fail(f"samtranslator/cfn-lint found errors ({key}):\n" + "\n".join(e.problems), pytrace=False)
    return _translated[key]


@pytest.fixture(scope="module", params=["http", "rest"])
def variant(request):
    """Each front door's packaged template (tests that hold for both run on both)."""
    packaged = request.getfixturevalue("packaged" if request.param == "http" else "packaged_rest")
    assert packaged["front_door"] == request.param
    return {**packaged, "cfn": translate(packaged)}


@pytest.fixture(scope="module")
def cfn(variant):
    return variant["cfn"]["Resources"]


@pytest.fixture(scope="module")
def cfn_rest(packaged_rest):
    return translate(packaged_rest)["Resources"]


def of_type(res: dict, type_: str) -> dict:
    return {k: v for k, v in res.items() if v["Type"] == type_}


def by_name(res: dict, type_: str, key: str, name: str) -> dict:
    found = [v["Properties"] for v in of_type(res, type_).values() if v["Properties"].get(key) == name]
    assert len(found) == 1, f"expected one {type_} with {key}={name}, found {len(found)}"
    return found[0]


def test_translates_and_lints_without_errors(cfn):
    assert cfn


def test_chalice_deploy_would_accept_the_app():
    """`chalice deploy` validates more than `chalice package` does (e.g. a route's content types
    must agree on binary support); a stage that packages must also deploy."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.validate import validate_configuration

    config = CLIFactory(project_dir=str(ROOT)).create_config_obj(chalice_stage_name=PACKAGED_STAGE)
    try:
        validate_configuration(config)
    except Exception as e:  # noqa: BLE001 - chalice raises ValueError and its own errors
        pytest.fail(f"chalice deploy would refuse this app: {e}", pytrace=False)


def test_functions(cfn, variant):
    names = stages.function_names(PACKAGED_STAGE)
    deliver = by_name(cfn, "AWS::Lambda::Function", "FunctionName", names["deliver"])
    api = by_name(cfn, "AWS::Lambda::Function", "FunctionName", names["api_handler"])
    assert deliver["Handler"] == "app.deliver"
    # behind the HTTP API, the adapter that routes payload-1.0 events (chalicelib/api/http_api.py)
    assert api["Handler"] == {"http": "app.http_api_handler", "rest": "app.app"}[variant["front_door"]]
    assert deliver["Timeout"] == resources.DELIVER_FUNCTION_TIMEOUT
    assert api["Timeout"] <= 29, "API Gateway gives up after 29 s"
    for fn in (deliver, api):
        env = fn["Environment"]["Variables"]
        assert {k: v for k, v in env.items() if k != "INFRAI_SCHEDULER_ROLE_ARN"} == \
            {k: v for k, v in STAGE_ENV.items() if k != "INFRAI_SCHEDULER_ROLE_ARN"}
        assert env["INFRAI_SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
        assert "INFRAI_ALLOW_PRIVATE_TARGETS" not in env
        # the sealing key: where provisioning puts it, never the key itself
        assert env["INFRAI_SEAL_KEY_PARAMETER"] == deploy_resources.seal_key_parameter_name(PACKAGED_STAGE)
        assert "INFRAI_SEAL_KEY" not in env


def test_deliver_event_source(cfn, variant):
    (esm,) = [v["Properties"] for v in of_type(cfn, "AWS::Lambda::EventSourceMapping").values()]
    assert esm["BatchSize"] == 10 == deploy_resources.DELIVER_BATCH_SIZE
    assert esm["MaximumBatchingWindowInSeconds"] == deploy_resources.DELIVER_BATCHING_WINDOW
    # the deploy setting (`make package DELIVER_CONCURRENCY=750`), in the SAM template and in
    # the CloudFormation made of it
    assert esm["ScalingConfig"] == {"MaximumConcurrency": PACKAGED_DELIVER_CONCURRENCY}
    (event,) = variant["sam"]["Resources"]["Deliver"]["Properties"]["Events"].values()
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": PACKAGED_DELIVER_CONCURRENCY}
    assert esm["EventSourceArn"]["Fn::Sub"].endswith(":" + STAGE_ENV["INFRAI_DISPATCH_QUEUE"])
    assert esm["FunctionName"] == {"Ref": "Deliver"}
    # The handler answers {"batchItemFailures": [...]}: only those messages come back.
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_queues_redrive_to_the_dead_letter_queue(cfn):
    queues = of_type(cfn, "AWS::SQS::Queue")
    dispatch_id, dispatch = next((k, v["Properties"]) for k, v in queues.items()
                                 if v["Properties"]["QueueName"] == STAGE_ENV["INFRAI_DISPATCH_QUEUE"])
    dlq_id = next(k for k, v in queues.items() if v["Properties"]["QueueName"] == STAGE_ENV["INFRAI_DLQ"])
    assert dispatch["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                                         "maxReceiveCount": resources.MAX_RECEIVE_COUNT}
    deliver = by_name(cfn, "AWS::Lambda::Function", "FunctionName",
                      stages.function_names(PACKAGED_STAGE)["deliver"])
    assert dispatch["VisibilityTimeout"] >= 6 * deliver["Timeout"], "AWS: at least 6x the function timeout"
    assert queues[dlq_id]["Properties"]["MessageRetentionPeriod"] == resources.DLQ_RETENTION
    assert "Deliver" in cfn and dispatch_id in _depends_on(cfn["Deliver"])


def _depends_on(res):
    d = res.get("DependsOn", [])
    return [d] if isinstance(d, str) else d


def test_tables_with_ttl_and_indexes(cfn):
    for spec, ttl in ((resources.table(), resources.TABLE_TTL_ATTRIBUTE),
                      (resources.idempotency_table(), resources.IDEMPOTENCY_TTL_ATTRIBUTE)):
        name = STAGE_ENV["INFRAI_TABLE"] if "GlobalSecondaryIndexes" in spec else STAGE_ENV["INFRAI_IDEMPOTENCY_TABLE"]
        table = by_name(cfn, "AWS::DynamoDB::Table", "TableName", name)
        assert table["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
        assert table["KeySchema"] == spec["KeySchema"]
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert [g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])] == \
            [g["IndexName"] for g in spec.get("GlobalSecondaryIndexes", [])]
    data = by_name(cfn, "AWS::DynamoDB::Table", "TableName", STAGE_ENV["INFRAI_TABLE"])
    assert {g["IndexName"] for g in data["GlobalSecondaryIndexes"]} == {"gsi1", "gsi2", "gsi3", *resources.DELIVERY_INDEXES}
    for res in of_type(cfn, "AWS::DynamoDB::Table").values():
        assert res["DeletionPolicy"] == "Retain", "deleting the stack must not delete the data"


def test_schedule_group_and_scheduler_role(cfn):
    by_name(cfn, "AWS::Scheduler::ScheduleGroup", "Name", STAGE_ENV["INFRAI_SCHEDULE_GROUP"])
    role = cfn["SchedulerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = role["Policies"]
    (stmt,) = policy["PolicyDocument"]["Statement"]
    assert stmt["Action"] == "sqs:SendMessage"
    assert {"Fn::GetAtt": ["DispatchQueue", "Arn"]} in stmt["Resource"]
    with stages.applied(PACKAGED_STAGE):
        assert role["RoleName"] == deploy_resources.scheduler_role_name()


def test_log_groups_have_a_retention(cfn):
    groups = {v["Properties"]["LogGroupName"]: v["Properties"]
              for v in of_type(cfn, "AWS::Logs::LogGroup").values()}
    for name in stages.function_names(PACKAGED_STAGE).values():
        assert groups[f"/aws/lambda/{name}"]["RetentionInDays"] == deploy_resources.LOG_RETENTION_DAYS


def test_function_roles_carry_the_stage_policy_file(cfn):
    policy = json.loads((ROOT / ".chalice" / f"policy-{PACKAGED_STAGE}.json").read_text())
    roles = [cfn[fn["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
             for fn in of_type(cfn, "AWS::Lambda::Function").values()]
    assert roles
    for role in roles:
        assert [p["PolicyDocument"] for p in role["Policies"]] == [policy]
        assert not role.get("ManagedPolicyArns"), "no managed policies: they grant more than we use"


def test_authorizers_cache_their_answers(cfn_rest):
    """There may be no custom authorizer yet; every one there is caches per Authorization header."""
    api = next(iter(of_type(cfn_rest, "AWS::ApiGateway::RestApi").values()))["Properties"]
    security = api["Body"].get("securityDefinitions", {})
    for name, definition in security.items():
        auth = definition.get("x-amazon-apigateway-authorizer")
        if auth and auth.get("type") in ("token", "request"):
            assert auth.get("authorizerResultTtlInSeconds", 300) > 0, f"authorizer {name} does not cache"


def test_chalice_config_matches_the_code():
    cfg = stages.load_config()
    config_py = (ROOT / "chalicelib" / "config.py").read_text()
    read_by_code = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', config_py))
    for name in ("local", "prod"):
        stage = cfg["stages"][name]
        assert stage["autogen_policy"] is False
        assert (ROOT / ".chalice" / stage["iam_policy_file"]).is_file()
        assert stage["iam_policy_file"] == f"policy-{name}.json"
        env = stages.stage_environment(name)
        infrai = {k for k in env if k.startswith("INFRAI_")}
        assert infrai <= read_by_code, f"unknown settings in stage {name}: {infrai - read_by_code}"
        assert {"INFRAI_STAGE", "INFRAI_TABLE", "INFRAI_IDEMPOTENCY_TABLE", "INFRAI_DISPATCH_QUEUE",
                "INFRAI_DLQ", "INFRAI_SCHEDULE_GROUP", "INFRAI_SCHEDULER_ROLE_ARN", "INFRAI_SEAL_KEY_PARAMETER"} <= infrai
        assert env["INFRAI_STAGE"] == name
        assert "INFRAI_ALLOW_PRIVATE_TARGETS" not in env, "deployed stages never reach private targets"
        fns = stage["lambda_functions"]
        assert fns["deliver"]["lambda_timeout"] == resources.DELIVER_FUNCTION_TIMEOUT
        assert "api_handler" in fns


def test_api_gateway_answers_in_our_error_format_quoting_nothing(cfn_rest):
    """Unknown routes (and on AWS unknown methods) are 404s in our shape, not API Gateway's 403,
    whose message quotes the Authorization header; no body uses a request variable."""
    (api,) = of_type(cfn_rest, "AWS::ApiGateway::RestApi").values()
    found = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    assert {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"} <= set(found)
    missing = found["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    error = json.loads(missing["responseTemplates"]["application/json"])["error"]
    assert error["code"] == "not_found" and error["field"] is None and error["message"]
    for p in found.values():
        template = p["responseTemplates"]["application/json"]
        assert "$" not in template and "context" not in template, template
        assert set(json.loads(template)) == {"error"}
        assert p["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"
    assert found["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_alarms_notify_the_topic_and_the_dashboard_shows_the_service_metrics(cfn, variant):
    from deploy import alarms
    topic = [k for k, v in of_type(cfn, "AWS::SNS::Topic").items() if v["Properties"]["TopicName"] == "infrai-prod-alarms"]
    assert len(topic) == 1
    [sub] = of_type(cfn, "AWS::SNS::Subscription").values()
    assert sub["Condition"] == "HasAlarmEmail" and sub["Properties"]["Protocol"] == "email"
    found = {v["Properties"]["AlarmName"]: v["Properties"] for v in of_type(cfn, "AWS::CloudWatch::Alarm").values()}
    assert set(found) == {f"infrai-prod-{n}" for n in (
        "dlq-not-empty", "dispatch-oldest-message", "deliver-errors", "deliver-throttles", "api-5xx", "repairs-quarantined",
        "lateness-p99")}
    assert all(a["AlarmActions"] == [{"Ref": topic[0]}] for a in found.values())
    api_5xx = found["infrai-prod-api-5xx"]
    if variant["front_door"] == "rest":
        assert (api_5xx["MetricName"], api_5xx["Dimensions"]) == \
            ("5XXError", [{"Name": "ApiName", "Value": stages.app_name()}])
    else:   # an HTTP API's metrics are `5xx`, by ApiId
        assert (api_5xx["MetricName"], api_5xx["Dimensions"]) == \
            ("5xx", [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}])
    [dash] = of_type(cfn, "AWS::CloudWatch::Dashboard").values()
    body = dash["Properties"]["DashboardBody"]["Fn::Sub"]
    for metric in ("AttemptsSucceeded", "AttemptsRetrying", "AttemptsFailed", "DeliveriesSucceeded",
                   "DeliveriesFailed", "AttemptLatency", "Lateness", "StrandedRepaired"):
        assert f'"{metric}"' in body
    assert f'"{alarms.observability.NAMESPACE}"' in body


# The functions' memory, set by measurement (deploy/measure_memory.py: peak RSS 65, 73 and 73 MB;
# docs/deployment.md#memory-and-architecture says why 256 for each)
MEASURED_MEMORY_MB = {"api_handler": 256, "deliver": 256, "reconcile": 256}


def test_every_function_is_arm64_with_its_measured_memory_and_json_logs(cfn):
    cfg = stages.load_config()["stages"][PACKAGED_STAGE]
    names = stages.function_names(PACKAGED_STAGE)
    fns = of_type(cfn, "AWS::Lambda::Function")
    assert len(fns) == 3
    for key, name in names.items():
        fn = by_name(cfn, "AWS::Lambda::Function", "FunctionName", name)
        assert fn["Architectures"] == ["arm64"], name
        assert fn["MemorySize"] == cfg["lambda_functions"][key]["lambda_memory_size"] == MEASURED_MEMORY_MB[key]
        # Lambda's own lines dropped, ours as JSON from INFO (EMF documents carry no level: INFO)
        assert fn["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN"}
    assert cfg["lambda_architecture"] == "arm64", "chalice deploy makes arm64 functions too"


def test_the_default_front_door_is_the_http_api(packaged):
    assert stages.DEFAULT_API_GATEWAY == "http" and packaged["front_door"] == "http"
    assert "api_gateway" not in stages.load_config()["stages"][PACKAGED_STAGE], \
        "prod takes the default (and `make deploy`, REST only, stays possible)"


def test_the_http_api_front_door(packaged):
    cfn = translate(packaged)
    res = cfn["Resources"]
    assert not of_type(res, "AWS::ApiGateway::RestApi") and not of_type(res, "AWS::ApiGateway::Deployment")
    assert "RestAPI" not in json.dumps(packaged["sam"]), "Chalice's REST API is taken out whole"
    [(api_id, api)] = of_type(res, "AWS::ApiGatewayV2::Api").items()
    assert api["Properties"]["ProtocolType"] == "HTTP" and api_id == "HttpApi"
    [(integration_id, integration)] = of_type(res, "AWS::ApiGatewayV2::Integration").items()
    p = integration["Properties"]
    assert (p["ApiId"], p["IntegrationType"], p["PayloadFormatVersion"]) == ({"Ref": api_id}, "AWS_PROXY", "1.0")
    assert p["IntegrationUri"] == {"Fn::GetAtt": ["APIHandler", "Arn"]}
    assert p["TimeoutInMillis"] <= 30_000
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in of_type(res, "AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {"ANY /{proxy+}", "ANY /"}
    for route in routes.values():
        assert route["ApiId"] == {"Ref": api_id}
        assert route["Target"] == {"Fn::Sub": "integrations/${" + integration_id + "}"}
        assert route.get("AuthorizationType", "NONE") == "NONE", "the app checks the key itself"
    [stage] = [v["Properties"] for v in of_type(res, "AWS::ApiGatewayV2::Stage").values()]
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == deploy_resources.HTTP_API_RATE_LIMIT > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == deploy_resources.HTTP_API_BURST_LIMIT > 0
    log_group = stage["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert res[log_group]["Properties"]["RetentionInDays"] == deploy_resources.LOG_RETENTION_DAYS
    access = json.loads(stage["AccessLogSettings"]["Format"])
    assert {"requestId", "status", "path"} <= set(access)
    assert not any(w in stage["AccessLogSettings"]["Format"] for w in ("header", "querystring", "body", "authoriz")), \
        "nothing from a request's headers, query or body is logged"
    # the only way in: API Gateway may invoke the API function from this API alone
    perms = [v["Properties"] for v in of_type(res, "AWS::Lambda::Permission").values()
             if v["Properties"]["FunctionName"] == {"Ref": "APIHandler"}]
    assert len(perms) == 1 and perms[0]["Principal"] == "apigateway.amazonaws.com"
    assert perms[0]["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"}
    dash = next(iter(of_type(res, "AWS::CloudWatch::Dashboard").values()))["Properties"]["DashboardBody"]["Fn::Sub"]
    assert '"ApiId", "${HttpApi}"' in dash


def test_the_handler_the_http_api_invokes_exists():
    import app
    assert callable(app.http_api_handler)


def test_both_front_doors_name_the_endpoint_url_alike(packaged, packaged_rest):
    http, rest = (translate(p)["Outputs"] for p in (packaged, packaged_rest))
    assert set(rest) - {"RestAPIId"} <= set(http), "every output the REST variant has (but its id)"
    assert http["EndpointURL"]["Value"] == {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"}
    assert rest["EndpointURL"]["Value"]["Fn::Sub"].startswith("https://${RestAPI}.execute-api.")
    assert http["HttpApiId"]["Value"] == {"Ref": "HttpApi"}


def test_the_rest_front_door_is_as_before(packaged_rest):
    res = translate(packaged_rest)["Resources"]
    assert len(of_type(res, "AWS::ApiGateway::RestApi")) == 1 and not of_type(res, "AWS::ApiGatewayV2::Api")
    [perm] = [v["Properties"] for v in of_type(res, "AWS::Lambda::Permission").values()
              if v["Properties"]["FunctionName"] == {"Ref": "APIHandler"}]
    assert "RestAPI" in json.dumps(perm["SourceArn"])


def test_a_bad_front_door_setting_stops_the_package(monkeypatch):
    from deploy import template
    monkeypatch.setenv(stages.API_GATEWAY_ENV, "websocket")
    with pytest.raises(SystemExit, match="one of http, rest"):
        template.merge_template(PACKAGED_STAGE)


def test_make_deploy_refuses_the_http_front_door_before_making_anything(monkeypatch):
    """`chalice deploy` makes a REST API whatever it is asked: asked for the HTTP API, say so."""
    from deploy import provision
    monkeypatch.setenv(stages.API_GATEWAY_ENV, "http")
    with pytest.raises(SystemExit, match="chalice deploy can only make a REST API"):
        provision.up(PACKAGED_STAGE)
