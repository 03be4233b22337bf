"""Create, describe and remove a stage's AWS resources, idempotently: a second run changes
nothing. The tables, queues and schedule group come from local/provision.py (the same code the
local stack and the tests run against moto); this adds what only a deployed stage needs.

    python -m deploy.provision up --stage prod [--write-config]   before `chalice deploy`
    python -m deploy.provision tune --stage prod                  after it (event source settings)
    python -m deploy.provision describe --stage prod              everything, as JSON
    python -m deploy.provision down --stage prod [--delete-seal-key]   after `chalice delete`
    python -m deploy.provision seal-key --stage prod              only the sealing key (before a
                                                                  CloudFormation deploy)

Credentials and region come from the usual AWS environment; AWS_ENDPOINT_URL points it at moto.
"""
import argparse
import functools
import json
import os
import sys

from . import alarms as deploy_alarms
from . import capacity as table_capacity
from . import gateway_responses
from . import resources as deploy_resources
from . import seal_key
from . import stage as stages


@functools.lru_cache(maxsize=1)
def _session():
    """One session: it caches the service models, so clients come quickly."""
    import boto3
    return boto3.session.Session()


def _client(service):
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return _session().client(service, region_name=region)


def _queue_arn(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def up(stage: str, write_config: bool = False) -> dict:
    """Everything the stage's functions use, before `chalice deploy` creates the functions."""
    from chalicelib.aws import clients, dispatch
    from chalicelib.aws import resources as app_resources
    from local import provision as core

    if stages.chosen_api_gateway(stage) == "http":   # before anything is made
        raise SystemExit("chalice deploy can only make a REST API; the HTTP API front door "
                         "(api_gateway=http) is in the packaged template: make package, or deploy "
                         "with API_GATEWAY=rest (docs/deployment.md#the-front-door-http-api-or-rest-api)")
    with stages.applied(stage):
        deploy_resources.deliver_max_concurrency()   # a bad value stops here, before anything is made
        destination_arns = deploy_resources.destination_arns()   # and so does a bad ARN
        capacity = table_capacity.table_capacity()   # and a bad capacity setting
        clients.reset()
        dispatch.reset()
        sqs, ddb = _client("sqs"), _client("dynamodb")
        # create_queue refuses an existing queue whose attributes differ (an upgrade that changes
        # one): converge existing queues first, then let the shared code create what is missing.
        _converge_queues(sqs)
        # the data table in the chosen capacity mode before the shared code adds an index to it
        # (an index on a provisioned table is made with the table's minimum throughput)
        data_spec = app_resources.table()
        aas = _client("application-autoscaling")   # called only for a provisioned table
        table_capacity.prepare(ddb, aas, data_spec, capacity)
        urls = core.provision()
        table_capacity.scale(aas, data_spec, capacity)
        dlq_arn = _queue_arn(sqs, urls["dead_letter_queue_url"])
        dispatch_arn = _queue_arn(sqs, urls["dispatch_queue_url"])
        for spec, attr in ((app_resources.table(), app_resources.TABLE_TTL_ATTRIBUTE),
                           (app_resources.idempotency_table(), app_resources.IDEMPOTENCY_TTL_ATTRIBUTE)):
            ttl = ddb.describe_time_to_live(TableName=spec["TableName"])["TimeToLiveDescription"]
            if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(TableName=spec["TableName"], TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": attr})
        role_arn = _scheduler_role(dispatch_arn, dlq_arn)
        _log_groups(stage)
        topic_arn = _alarms(stage)
        seal_key = seal_key_parameter(stage)
        clients.reset()
        dispatch.reset()
    if write_config:
        _write_config(stage, "INFRAI_SCHEDULER_ROLE_ARN", role_arn)
        _write_config(stage, "INFRAI_SEAL_KEY_PARAMETER", seal_key)
        # always written: a deployed stage refuses a destination its role was not granted
        _write_config(stage, deploy_resources.DESTINATIONS_SETTING, ",".join(destination_arns))
    return {**urls, "dispatch_queue_arn": dispatch_arn, "dead_letter_queue_arn": dlq_arn,
            "scheduler_role_arn": role_arn, "alarm_topic_arn": topic_arn, "seal_key_parameter": seal_key}


def seal_key_parameter(stage: str) -> str:
    """The stage's sealing key, made if it is not there (deploy/seal_key.py); its name."""
    return seal_key.ensure(_client("ssm"), stage)


def _converge_queues(sqs) -> None:
    from chalicelib.aws import resources as app_resources

    dlq_arn = None
    for make_spec in (lambda: app_resources.dead_letter_queue(),
                      lambda: app_resources.dispatch_queue(dlq_arn)):
        spec = make_spec()
        try:
            url = sqs.get_queue_url(QueueName=spec["QueueName"])["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            return
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        changed = {k: v for k, v in spec["Attributes"].items() if not _same_attr(current.get(k), v)}
        if changed:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
        dlq_arn = dlq_arn or current["QueueArn"]


def _same_attr(current, wanted: str) -> bool:
    if current is None:
        return False
    try:
        return json.loads(current) == json.loads(wanted) or \
            _norm(json.loads(current)) == _norm(json.loads(wanted))
    except (TypeError, ValueError):
        return current == wanted


def _norm(value):
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else str(value)


def _scheduler_role(dispatch_arn: str, dlq_arn: str) -> str:
    iam = _client("iam")
    account = _client("sts").get_caller_identity()["Account"]
    name = deploy_resources.scheduler_role_name()
    trust = deploy_resources.scheduler_trust_policy(account)
    try:
        role = iam.get_role(RoleName=name)["Role"]
        current = role["AssumeRolePolicyDocument"]
        if isinstance(current, str):
            from urllib.parse import unquote
            current = json.loads(unquote(current))
        if current != trust:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
                               Description="EventBridge Scheduler sends cron runs to the dispatch queue")["Role"]
    policy = deploy_resources.scheduler_policy(dispatch_arn, dlq_arn)
    try:
        current = iam.get_role_policy(RoleName=name, PolicyName=deploy_resources.SCHEDULER_POLICY_NAME)["PolicyDocument"]
        if isinstance(current, str):
            from urllib.parse import unquote
            current = json.loads(unquote(current))
    except iam.exceptions.NoSuchEntityException:
        current = None
    if current != policy:
        iam.put_role_policy(RoleName=name, PolicyName=deploy_resources.SCHEDULER_POLICY_NAME,
                            PolicyDocument=json.dumps(policy))
    return role["Arn"]


def _log_groups(stage: str) -> None:
    """Made here, with a retention, so the functions need no logs:CreateLogGroup."""
    logs = _client("logs")
    for name in deploy_resources.log_group_names(stages.function_names(stage)):
        found = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
                 if g["logGroupName"] == name]
        if not found:
            logs.create_log_group(logGroupName=name)
        if not found or found[0].get("retentionInDays") != deploy_resources.LOG_RETENTION_DAYS:
            logs.put_retention_policy(logGroupName=name, retentionInDays=deploy_resources.LOG_RETENTION_DAYS)


def _alarms(stage: str) -> str:
    """The alarm topic (an e-mail subscription if INFRAI_ALARM_EMAIL is set, once), the alarms and
    the dashboard: PutMetricAlarm and PutDashboard overwrite, so a second run changes nothing."""
    sns, cw = _client("sns"), _client("cloudwatch")
    topic_arn = sns.create_topic(Name=deploy_alarms.topic_name())["TopicArn"]
    email = deploy_alarms.alarm_email()
    if email:
        subs = [s for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
                for s in page["Subscriptions"]]
        if not any(s["Protocol"] == "email" and s["Endpoint"] == email for s in subs):
            sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email)
    fn_names, api_name = stages.function_names(stage), stages.app_name()
    for spec in deploy_alarms.alarms(fn_names, api_name, topic_arn):
        cw.put_metric_alarm(**spec)
    cw.put_dashboard(DashboardName=deploy_alarms.dashboard_name(),
                     DashboardBody=deploy_alarms.dashboard_json(fn_names, api_name, cw.meta.region_name))
    return topic_arn


def _write_config(stage: str, name: str, value: str) -> None:
    """`chalice deploy` bakes environment variables from .chalice/config.json into the functions:
    record there what provisioning made (a role ARN holds the account id; a stage added before the
    sealing key lacks its parameter's name) once, and say so (commit the change)."""
    cfg = stages.load_config()
    env = cfg["stages"][stage].setdefault("environment_variables", {})
    if env.get(name) != value:
        env[name] = value
        stages.CONFIG.write_text(json.dumps(cfg, indent=2) + "\n")
        print(f"set {name}={value} for stage {stage} in .chalice/config.json (commit it)", file=sys.stderr)


def _grant_destinations(role: str, policy: dict | None) -> None:
    """The functions' role (made by `chalice deploy` from .chalice/policy-<stage>.json) gets the
    listed destinations as one more inline policy, or loses it when the list is empty."""
    iam = _client("iam")
    if policy is None:
        try:
            iam.delete_role_policy(RoleName=role, PolicyName=deploy_resources.DESTINATIONS_POLICY_NAME)
        except iam.exceptions.NoSuchEntityException:
            pass
        return
    iam.put_role_policy(RoleName=role, PolicyName=deploy_resources.DESTINATIONS_POLICY_NAME,
                        PolicyDocument=json.dumps(policy))


def deliver_event_sources(stage: str) -> list[dict]:
    lam = _client("lambda")
    name = stages.function_names(stage)["deliver"]
    # filtered here, not with FunctionName= (which moto matches against the ARN only)
    return [e for page in lam.get_paginator("list_event_source_mappings").paginate()
            for e in page["EventSourceMappings"]
            if e["FunctionArn"].split(":function:")[-1].split(":")[0] == name]


def tune(stage: str) -> list[str]:
    """`chalice deploy` sets batch size from app.py and resets the batching window to the
    decorator's (0) on every deploy, and never sets partial batch responses: set the window,
    the concurrency cap (the deploy setting, as app.py gave it to Chalice) and
    ReportBatchItemFailures after it."""
    with stages.applied(stage):
        max_concurrency = deploy_resources.deliver_max_concurrency()
        grant = deploy_resources.destinations_policy(deploy_resources.destination_arns())
    _grant_destinations(stages.role_name(stage), grant)
    lam = _client("lambda")
    changed = []
    for esm in deliver_event_sources(stage):
        want = {"BatchSize": deploy_resources.DELIVER_BATCH_SIZE,
                "MaximumBatchingWindowInSeconds": deploy_resources.DELIVER_BATCHING_WINDOW,
                "ScalingConfig": {"MaximumConcurrency": max_concurrency},
                "FunctionResponseTypes": deploy_resources.DELIVER_RESPONSE_TYPES}
        if any(esm.get(k) != v for k, v in want.items()):
            lam.update_event_source_mapping(UUID=esm["UUID"], **want)
            changed.append(esm["UUID"])
    return changed


def tune_api(stage: str) -> list[str]:
    """The deployed API's own answers (unknown routes, throttling, ...) in our error format
    (deploy/gateway_responses.py). Returns the response types changed."""
    apigw = _client("apigateway")
    api_id = deployed_rest_api_id(stage)
    if api_id is None:
        print(f"no deployed REST API found for stage {stage}: gateway responses not set", file=sys.stderr)
        return []
    api_stage = stages.load_config()["stages"].get(stage, {}).get("api_gateway_stage", "api")
    return gateway_responses.apply(apigw, api_id, api_stage)


def deployed_rest_api_id(stage: str, project_dir=None) -> str | None:
    """The stage's REST API: from Chalice's record of the deployment, else the one API named
    after the app."""
    record = (project_dir or stages.ROOT) / ".chalice" / "deployed" / f"{stage}.json"
    if record.exists():
        for res in json.loads(record.read_text()).get("resources", []):
            if res.get("resource_type") == "rest_api":
                return res["rest_api_id"]
    apis = [a["id"] for page in _client("apigateway").get_paginator("get_rest_apis").paginate()
            for a in page["items"] if a["name"] == stages.app_name()]
    return apis[0] if len(apis) == 1 else None


def describe(stage: str) -> dict:
    """A full description of the stage's provisioned resources, for comparing two runs."""
    from chalicelib import config

    with stages.applied(stage):
        ddb, sqs, sched, iam, logs = (_client(s) for s in ("dynamodb", "sqs", "scheduler", "iam", "logs"))
        out = {"tables": {}, "queues": {}, "schedule_groups": [], "roles": {}, "log_groups": {}}
        out["seal_key"] = seal_key.describe(_client("ssm"), seal_key.name(stage))
        out["alarms"] = _describe_alarms(stage)
        # whatever the capacity setting says now: what the table has
        out["capacity"] = table_capacity.describe(ddb, _client("application-autoscaling"), config.table_name())
        for name in (config.table_name(), config.idempotency_table_name()):
            out["tables"][name] = {"table": ddb.describe_table(TableName=name)["Table"],
                                   "ttl": ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]}
        for name in (config.dispatch_queue_name(), config.dead_letter_queue_name()):
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            out["queues"][name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        out["schedule_groups"] = [g for g in sched.list_schedule_groups()["ScheduleGroups"]
                                  if g["Name"] == config.schedule_group()]
        role = deploy_resources.scheduler_role_name()
        out["roles"][role] = {
            "role": iam.get_role(RoleName=role)["Role"],
            "policies": {p: iam.get_role_policy(RoleName=role, PolicyName=p)["PolicyDocument"]
                         for p in iam.list_role_policies(RoleName=role)["PolicyNames"]}}
        for name in deploy_resources.log_group_names(stages.function_names(stage)):
            out["log_groups"][name] = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
                                       if g["logGroupName"] == name]
    return out


def _describe_alarms(stage: str) -> dict:
    sns, cw = _client("sns"), _client("cloudwatch")
    names = [a["AlarmName"] for a in deploy_alarms.alarms(stages.function_names(stage), "", "")]
    alarms = cw.describe_alarms(AlarmNames=names)["MetricAlarms"]
    volatile = ("AlarmArn", "AlarmConfigurationUpdatedTimestamp", "StateValue", "StateReason",
                "StateReasonData", "StateUpdatedTimestamp", "StateTransitionedTimestamp")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":" + deploy_alarms.topic_name())]
    subs = [{"Protocol": s["Protocol"], "Endpoint": s["Endpoint"]} for t in topics
            for s in sns.list_subscriptions_by_topic(TopicArn=t)["Subscriptions"]]
    dashboards = [d["DashboardName"] for d in cw.list_dashboards(DashboardNamePrefix=deploy_alarms.dashboard_name())
                  ["DashboardEntries"]]
    return {"topics": topics, "subscriptions": subs, "dashboards": dashboards,
            "alarms": {a["AlarmName"]: {k: v for k, v in a.items() if k not in volatile} for a in alarms}}


def down(stage: str, delete_seal_key: bool = False) -> None:
    """Remove what `up` made (run `chalice delete` first: it removes the functions and the API),
    but the sealing key unless `delete_seal_key`: a stage made again over kept tables (a backup, a
    restore) needs it to read the credentials sealed in them."""
    from chalicelib import config

    with stages.applied(stage):
        ddb, sqs, sched, iam, logs = (_client(s) for s in ("dynamodb", "sqs", "scheduler", "iam", "logs"))
        existing = set(ddb.list_tables()["TableNames"])
        table_capacity.remove(ddb, _client("application-autoscaling"), config.table_name())
        for name in (config.table_name(), config.idempotency_table_name()):
            if name in existing:
                ddb.delete_table(TableName=name)
        for name in (config.dispatch_queue_name(), config.dead_letter_queue_name()):
            try:
                sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
            except sqs.exceptions.QueueDoesNotExist:
                pass
        if any(g["Name"] == config.schedule_group() for g in sched.list_schedule_groups()["ScheduleGroups"]):
            sched.delete_schedule_group(Name=config.schedule_group())   # and every schedule in it
        role = deploy_resources.scheduler_role_name()
        try:
            for p in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                iam.delete_role_policy(RoleName=role, PolicyName=p)
            iam.delete_role(RoleName=role)
        except iam.exceptions.NoSuchEntityException:
            pass
        for name in deploy_resources.log_group_names(stages.function_names(stage)):
            try:
                logs.delete_log_group(logGroupName=name)
            except logs.exceptions.ResourceNotFoundException:
                pass
        cw, sns = _client("cloudwatch"), _client("sns")
        cw.delete_alarms(AlarmNames=[a["AlarmName"] for a in deploy_alarms.alarms(stages.function_names(stage), "", "")])
        if cw.list_dashboards(DashboardNamePrefix=deploy_alarms.dashboard_name())["DashboardEntries"]:
            cw.delete_dashboards(DashboardNames=[deploy_alarms.dashboard_name()])
        for t in sns.list_topics()["Topics"]:
            if t["TopicArn"].endswith(":" + deploy_alarms.topic_name()):
                sns.delete_topic(TopicArn=t["TopicArn"])   # and its subscriptions
        name = seal_key.name(stage)
    if delete_seal_key:
        seal_key.delete(_client("ssm"), name)
    else:
        print(f"kept the sealing key {name} (SSM): values sealed with it stay readable if the stage comes "
              "back; --delete-seal-key removes it", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.provision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "tune", "describe", "down", "seal-key"])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--write-config", action="store_true",
                        help="record the scheduler role's ARN and the sealing key's parameter in "
                             ".chalice/config.json (up)")
    parser.add_argument("--delete-seal-key", action="store_true",
                        help="down: remove the sealing key too (every value sealed with it becomes unreadable)")
    args = parser.parse_args(argv)
    if args.command == "up":
        print(json.dumps(up(args.stage, args.write_config), indent=2))
    elif args.command == "tune":
        print(json.dumps({"updated_event_source_mappings": tune(args.stage),
                          "updated_gateway_responses": tune_api(args.stage)}))
    elif args.command == "describe":
        print(json.dumps(describe(args.stage), indent=2, default=str))
    elif args.command == "seal-key":
        print(json.dumps({"seal_key_parameter": seal_key_parameter(args.stage)}))
    else:
        down(args.stage, args.delete_seal_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
