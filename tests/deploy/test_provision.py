"""Provisioning a stage is idempotent: run twice against moto, the second run changes nothing;
tearing down leaves nothing behind."""
import pytest
from tests.mocked_aws import mocked_aws

from deploy import provision
from deploy import stage as stages


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(monkeypatch, provisioned=False):
        yield


@pytest.mark.parametrize("stage", ["prod", "local"])
def test_second_run_changes_nothing(aws, stage):
    first = provision.up(stage)
    before = provision.describe(stage)
    assert provision.up(stage) == first
    after = provision.describe(stage)
    assert after == before
    # and the description is a full one
    assert len(before["tables"]) == 2 and len(before["queues"]) == 2
    assert all(t["ttl"]["TimeToLiveStatus"] == "ENABLED" for t in before["tables"].values())
    assert len(before["schedule_groups"]) == 1 and len(before["log_groups"]) == 3   # api, deliver, reconcile
    assert all(g and g[0]["retentionInDays"] == 30 for g in before["log_groups"].values())


def test_a_changed_queue_setting_is_converged(aws):
    """An upgrade that changes a queue attribute takes effect (create_queue alone would keep the old)."""
    import boto3
    urls = provision.up("prod")
    sqs = boto3.client("sqs", region_name="us-east-1")
    sqs.set_queue_attributes(QueueUrl=urls["dispatch_queue_url"], Attributes={"VisibilityTimeout": "30"})
    provision.up("prod")
    attrs = sqs.get_queue_attributes(QueueUrl=urls["dispatch_queue_url"], AttributeNames=["VisibilityTimeout"])
    from chalicelib.aws import resources
    assert attrs["Attributes"]["VisibilityTimeout"] == str(resources.DISPATCH_VISIBILITY_TIMEOUT)


def test_two_stages_live_side_by_side_and_down_removes_one(aws):
    provision.up("prod")
    provision.up("local")
    provision.down("local")
    assert provision.describe("prod")["tables"]
    with pytest.raises(Exception):
        provision.describe("local")
    provision.down("local")   # twice is fine


def test_alarms_topic_and_dashboard_are_provisioned_once(aws, monkeypatch):
    """`make deploy ALARM_EMAIL=...`: the topic, one e-mail subscription however often it runs,
    every alarm wired to the topic, the dashboard; `down` removes them."""
    monkeypatch.setenv("INFRAI_ALARM_EMAIL", "ops@example.com")
    first = provision.up("prod")
    provision.up("prod")
    got = provision.describe("prod")["alarms"]
    assert got["topics"] == [first["alarm_topic_arn"]]
    assert got["subscriptions"] == [{"Protocol": "email", "Endpoint": "ops@example.com"}]
    assert got["dashboards"] == ["infrai-prod-operations"]
    assert set(got["alarms"]) == {f"infrai-prod-{n}" for n in (
        "dlq-not-empty", "dispatch-oldest-message", "deliver-errors", "deliver-throttles", "api-5xx", "repairs-quarantined",
        "lateness-p99")}
    for alarm in got["alarms"].values():
        assert alarm["AlarmActions"] == [first["alarm_topic_arn"]]
    dlq = got["alarms"]["infrai-prod-dlq-not-empty"]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": "infrai-prod-dlq"}] and dlq["Threshold"] == 1
    late = got["alarms"]["infrai-prod-lateness-p99"]
    assert late["Namespace"] == "InfraiScheduling" and late["ExtendedStatistic"] == "p99"
    errors = got["alarms"]["infrai-prod-deliver-errors"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": "infrai-scheduling-prod-deliver"}]
    provision.down("prod")
    import boto3
    assert boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"] == []
    assert boto3.client("sns", region_name="us-east-1").list_topics()["Topics"] == []


def test_an_upgrade_adds_the_indexes_a_stage_created_before_them_lacks(aws):
    """A stage deployed before the due index (gsi3) and the delivery-list indexes existed gets
    them on the next provisioning."""
    from chalicelib.aws import clients, resources
    from local import provision as core
    with stages.applied("prod"):
        clients.reset()
        spec = resources.table()
        ddb = clients.dynamodb()
        old = {**spec, "GlobalSecondaryIndexes": spec["GlobalSecondaryIndexes"][:2],
               "AttributeDefinitions": [d for d in spec["AttributeDefinitions"]
                                        if not d["AttributeName"].startswith(("gsi3", "ix_"))]}
        ddb.create_table(**old)
        assert core.add_missing_indexes(ddb, spec, poll_seconds=0.01) == ["gsi3", *resources.DELIVERY_INDEXES]
        names = {g["IndexName"] for g in ddb.describe_table(TableName=spec["TableName"])["Table"]["GlobalSecondaryIndexes"]}
        assert names == {"gsi1", "gsi2", "gsi3", *resources.DELIVERY_INDEXES}
        assert core.add_missing_indexes(ddb, spec, poll_seconds=0.01) == []
        clients.reset()


def test_an_upgrade_from_the_per_filter_list_indexes_swaps_them_for_the_sharded_ones(aws):
    """A stage made with the seven keys-only list indexes (before issue 23) gets ix_list and
    loses ix_all, ix_kind, ix_queue, ix_cron and ix_host, which would otherwise keep billing a
    write per delivery; ix_state and ix_status stay (same keys, sparse values now)."""
    from chalicelib.aws import clients, resources
    from local import provision as core
    with stages.applied("prod"):
        clients.reset()
        spec = resources.table()
        ddb = clients.dynamodb()
        legacy = [{"IndexName": n, "KeySchema": [{"AttributeName": n, "KeyType": "HASH"},
                                                 {"AttributeName": "ix_created", "KeyType": "RANGE"}],
                   "Projection": {"ProjectionType": "KEYS_ONLY"}}
                  for n in ("ix_all", "ix_state", "ix_kind", "ix_queue", "ix_cron", "ix_host", "ix_status")]
        old = {**spec, "GlobalSecondaryIndexes": spec["GlobalSecondaryIndexes"][:3] + legacy,
               "AttributeDefinitions": spec["AttributeDefinitions"] + [
                   {"AttributeName": n, "AttributeType": "S"} for n in ("ix_kind", "ix_queue", "ix_cron", "ix_host")]}
        ddb.create_table(**old)
        assert core.add_missing_indexes(ddb, spec, poll_seconds=0.01) == ["ix_list"]
        assert core.drop_obsolete_indexes(ddb, spec, poll_seconds=0.01) == list(resources.OBSOLETE_INDEXES)
        names = {g["IndexName"] for g in ddb.describe_table(TableName=spec["TableName"])["Table"]["GlobalSecondaryIndexes"]}
        assert names == {"gsi1", "gsi2", "gsi3", *resources.DELIVERY_INDEXES}
        assert core.drop_obsolete_indexes(ddb, spec, poll_seconds=0.01) == []
        clients.reset()


def test_the_sealing_key_is_made_once_never_shown_and_kept_on_teardown(aws, capsys):
    """A SecureString of 32 random bytes under the name the stage's functions read; a second run
    leaves it as it was (a new key would make every sealed value unreadable); `down` keeps it
    unless asked, and nothing prints its value."""
    import base64

    import boto3
    ssm = boto3.client("ssm", region_name="us-east-1")
    name = provision.up("prod")["seal_key_parameter"]
    assert name == "/infrai/prod/seal-key" == stages.stage_environment("prod")["INFRAI_SEAL_KEY_PARAMETER"]
    first = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert first["Type"] == "SecureString" and len(base64.b64decode(first["Value"], validate=True)) == 32
    provision.up("prod")
    provision.main(["seal-key", "--stage", "prod"])
    again = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert (again["Value"], again["Version"]) == (first["Value"], first["Version"])
    assert provision.describe("prod")["seal_key"][0]["Version"] == first["Version"]
    provision.up("local")
    assert ssm.get_parameter(Name="/infrai/local/seal-key", WithDecryption=True)["Parameter"]["Value"] != first["Value"]
    provision.main(["down", "--stage", "prod"])
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == first["Value"]
    provision.main(["down", "--stage", "prod", "--delete-seal-key"])
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=name)
    out = capsys.readouterr()
    assert first["Value"] not in out.out + out.err and "kept the sealing key /infrai/prod/seal-key" in out.err
