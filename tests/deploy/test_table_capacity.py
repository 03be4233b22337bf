"""The data table's capacity mode (docs/deployment.md#table-capacity-on-demand-or-provisioned):
on-demand by default; provisioned with auto scaling on the table and every index, in the
packaged template and through `make deploy`'s provisioning (against moto); a bad setting stops
both before anything is made."""
import json
import subprocess

import boto3
import pytest
from tests.mocked_aws import mocked_aws

from chalicelib.aws import resources
from deploy import capacity, provision
from deploy import stage as stages
from deploy import template

from .conftest import PACKAGED_STAGE, ROOT, package

PROVISIONED = {"INFRAI_TABLE_CAPACITY": "provisioned", "INFRAI_WRITE_CAPACITY": "50-5000",
               "INFRAI_READ_CAPACITY": "10-800", "INFRAI_CAPACITY_TARGET": "60"}
SETTINGS = ("INFRAI_TABLE_CAPACITY", "INFRAI_WRITE_CAPACITY", "INFRAI_READ_CAPACITY", "INFRAI_CAPACITY_TARGET")


@pytest.fixture(autouse=True)
def no_settings(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def provisioned(monkeypatch, **settings):
    for name, value in {**PROVISIONED, **settings}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(monkeypatch):
    with mocked_aws(monkeypatch, provisioned=False):
        yield


def data_table_name() -> str:
    return stages.stage_environment(PACKAGED_STAGE)["INFRAI_TABLE"]


def index_names() -> list[str]:
    with stages.applied(PACKAGED_STAGE):
        return [g["IndexName"] for g in resources.table()["GlobalSecondaryIndexes"]]


def expected_targets(write=(50, 5000), read=(10, 800)) -> dict:
    """(resource id, dimension) -> (min, max): the table and each index, writes and reads."""
    name = data_table_name()
    out = {}
    for rid, kind in [(f"table/{name}", "table")] + [(f"table/{name}/index/{i}", "index") for i in index_names()]:
        out[(rid, f"dynamodb:{kind}:WriteCapacityUnits")] = write
        out[(rid, f"dynamodb:{kind}:ReadCapacityUnits")] = read
    return out


def of_type(res: dict, type_: str) -> dict:
    return {k: v for k, v in res.items() if v.get("Type") == type_}


# --- the packaged template -------------------------------------------------------------------

def test_on_demand_is_the_default_and_adds_no_scaling(monkeypatch):
    default = template.merge_template(PACKAGED_STAGE)
    monkeypatch.setenv("INFRAI_TABLE_CAPACITY", "on-demand")
    monkeypatch.setenv("INFRAI_WRITE_CAPACITY", "100-200")   # only read with provisioned
    assert json.dumps(template.merge_template(PACKAGED_STAGE)) == json.dumps(default)
    table = default["Resources"]["DataTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST" and "ProvisionedThroughput" not in table
    assert all("ProvisionedThroughput" not in g for g in table["GlobalSecondaryIndexes"])
    assert not [r for r in default["Resources"].values() if r.get("Type", "").startswith("AWS::ApplicationAutoScaling")]


def test_provisioned_template_scales_the_table_and_every_index(monkeypatch):
    provisioned(monkeypatch)
    res = template.merge_template(PACKAGED_STAGE)["Resources"]
    table = res["DataTable"]["Properties"]
    assert table["BillingMode"] == "PROVISIONED"
    minimum = {"ReadCapacityUnits": 10, "WriteCapacityUnits": 50}
    assert table["ProvisionedThroughput"] == minimum
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == index_names()
    assert all(g["ProvisionedThroughput"] == minimum for g in table["GlobalSecondaryIndexes"])
    # the idempotency table stays on-demand
    idem = res["IdempotencyTable"]["Properties"]
    assert idem["BillingMode"] == "PAY_PER_REQUEST" and "ProvisionedThroughput" not in idem

    targets = of_type(res, "AWS::ApplicationAutoScaling::ScalableTarget")
    got = {(t["Properties"]["ResourceId"], t["Properties"]["ScalableDimension"]):
           (t["Properties"]["MinCapacity"], t["Properties"]["MaxCapacity"]) for t in targets.values()}
    assert got == expected_targets() and len(targets) == 2 * (1 + len(index_names()))
    for t in targets.values():
        assert t["Properties"]["ServiceNamespace"] == "dynamodb" and "RoleARN" not in t["Properties"]
        assert "DataTable" in t["DependsOn"]
    policies = of_type(res, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == len(targets)
    covered = set()
    for p in policies.values():
        props = p["Properties"]
        target = targets[props["ScalingTargetId"]["Ref"]]["Properties"]
        covered.add((target["ResourceId"], target["ScalableDimension"]))
        assert props["PolicyType"] == "TargetTrackingScaling" and "DataTable" in p["DependsOn"]
        tracking = props["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["TargetValue"] == 60
        kind = "Write" if target["ScalableDimension"].endswith("WriteCapacityUnits") else "Read"
        assert tracking["PredefinedMetricSpecification"] == {"PredefinedMetricType": f"DynamoDB{kind}CapacityUtilization"}
    assert covered == set(expected_targets())


def test_the_defaults_are_25_to_40000_units_at_70_percent(monkeypatch):
    monkeypatch.setenv("INFRAI_TABLE_CAPACITY", "provisioned")
    res = template.merge_template(PACKAGED_STAGE)["Resources"]
    targets = of_type(res, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert {(t["Properties"]["MinCapacity"], t["Properties"]["MaxCapacity"]) for t in targets} == {(25, 40000)}
    policies = of_type(res, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    assert {p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] for p in policies} == {70}


def test_provisioned_package_translates_and_lints(monkeypatch, tmp_path):
    """`make package TABLE_CAPACITY=provisioned`: the whole SAM template passes samtranslator and
    cfn-lint, with the scaling in it and no warning."""
    from deploy import check_template
    provisioned(monkeypatch)
    sam = package(tmp_path, None)["sam"]
    try:
        cfn, warnings = check_template.check(sam)
    except check_template.TemplateError as e:
        pytest.fail("samtranslator/cfn-lint found errors:\n" + "\n".join(e.problems), pytrace=False)
    assert len(of_type(cfn["Resources"], "AWS::ApplicationAutoScaling::ScalingPolicy")) == len(expected_targets())
    assert warnings == []


BAD = [
    ({"INFRAI_TABLE_CAPACITY": "reserved"}, "INFRAI_TABLE_CAPACITY='reserved'", "on-demand, provisioned"),
    ({"INFRAI_WRITE_CAPACITY": "5000-50"}, "INFRAI_WRITE_CAPACITY='5000-50'", "<min>-<max>"),
    ({"INFRAI_READ_CAPACITY": "lots"}, "INFRAI_READ_CAPACITY='lots'", "<min>-<max>"),
    ({"INFRAI_READ_CAPACITY": "0-10"}, "INFRAI_READ_CAPACITY='0-10'", "1 <= min <= max"),
    ({"INFRAI_CAPACITY_TARGET": "95"}, "INFRAI_CAPACITY_TARGET='95'", "from 20 to 90"),
]


@pytest.mark.parametrize("settings,names,how", BAD)
def test_a_bad_setting_stops_the_package_saying_how_to_fix_it(monkeypatch, settings, names, how):
    provisioned(monkeypatch, **settings)
    with pytest.raises(SystemExit) as stop:
        template.merge_template(PACKAGED_STAGE)
    assert names in str(stop.value) and how in str(stop.value)
    assert "docs/deployment.md#table-capacity-on-demand-or-provisioned" in str(stop.value)


# --- `make deploy`'s provisioning, against moto -----------------------------------------------

def test_a_bad_setting_stops_the_deploy_before_anything_is_made(aws, monkeypatch):
    provisioned(monkeypatch, INFRAI_CAPACITY_TARGET="10")
    with pytest.raises(SystemExit, match="INFRAI_CAPACITY_TARGET='10'"):
        provision.up("prod")
    assert boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"] == []


def test_provisioned_stage_is_made_with_its_scaling_and_described(aws, monkeypatch):
    provisioned(monkeypatch)
    provision.up("prod")
    got = provision.describe("prod")
    table = got["tables"][data_table_name()]["table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert {k: table["ProvisionedThroughput"][k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")} == \
        {"ReadCapacityUnits": 10, "WriteCapacityUnits": 50}
    assert sorted(g["IndexName"] for g in table["GlobalSecondaryIndexes"]) == sorted(index_names())
    for g in table["GlobalSecondaryIndexes"]:
        assert (g["ProvisionedThroughput"]["ReadCapacityUnits"], g["ProvisionedThroughput"]["WriteCapacityUnits"]) == (10, 50)
    idem = [t for name, t in got["tables"].items() if name != data_table_name()][0]["table"]
    assert idem["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    assert got["capacity"]["mode"] == "PROVISIONED"
    assert {(t["ResourceId"], t["ScalableDimension"]): (t["MinCapacity"], t["MaxCapacity"])
            for t in got["capacity"]["scalable_targets"]} == expected_targets()
    policies = got["capacity"]["scaling_policies"]
    assert {(p["ResourceId"], p["ScalableDimension"]) for p in policies} == set(expected_targets())
    assert all(p["PolicyType"] == "TargetTrackingScaling"
               and p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 60 for p in policies)
    # the real service's view, not only describe's
    aas = boto3.client("application-autoscaling", region_name="us-east-1")
    assert len(aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]) == len(expected_targets())

    provision.up("prod")   # a second run changes nothing
    assert provision.describe("prod") == got

    provision.down("prod")
    assert aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"] == []


def test_switching_modes_converges_the_table_and_its_scaling(aws, monkeypatch):
    """A stage made on-demand goes provisioned on the next deploy with the setting, its scaling
    follows a changed range, and it comes back to on-demand without its scaling."""
    provision.up("prod")
    assert provision.describe("prod")["capacity"] == {"mode": "PAY_PER_REQUEST", "scalable_targets": [],
                                                      "scaling_policies": []}
    provisioned(monkeypatch)
    provision.up("prod")
    assert provision.describe("prod")["capacity"]["mode"] == "PROVISIONED"
    monkeypatch.setenv("INFRAI_WRITE_CAPACITY", "100-9000")
    provision.up("prod")
    got = provision.describe("prod")["capacity"]
    assert {(t["ResourceId"], t["ScalableDimension"]): (t["MinCapacity"], t["MaxCapacity"])
            for t in got["scalable_targets"]} == expected_targets(write=(100, 9000))
    monkeypatch.setenv("INFRAI_TABLE_CAPACITY", "on-demand")
    provision.up("prod")
    assert provision.describe("prod")["capacity"] == {"mode": "PAY_PER_REQUEST", "scalable_targets": [],
                                                      "scaling_policies": []}
    aas = boto3.client("application-autoscaling", region_name="us-east-1")
    assert aas.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"] == []


class _Refused:
    status_code = 400


def test_a_refused_mode_switch_stops_with_a_message_not_a_traceback(aws, monkeypatch):
    """DynamoDB limits switches to on-demand per day: its refusal says what happened and what to do."""
    provisioned(monkeypatch)
    provision.up("prod")
    monkeypatch.setenv("INFRAI_TABLE_CAPACITY", "on-demand")
    with stages.applied("prod"):
        spec = resources.table()
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    aas = boto3.client("application-autoscaling", region_name="us-east-1")
    ddb.meta.events.register("before-call.dynamodb.UpdateTable", lambda **_: (_Refused(), {"Error": {
        "Code": "LimitExceededException", "Message": "Subscriber limit exceeded: billing mode switches"}}))
    with pytest.raises(SystemExit) as stop:
        capacity.prepare(ddb, aas, spec, None)
    message = str(stop.value)
    assert f"the data table {data_table_name()} could not be switched from PROVISIONED to PAY_PER_REQUEST" in message
    assert "LimitExceededException" in message and "INFRAI_TABLE_CAPACITY" in message
    assert ddb.describe_table(TableName=data_table_name())["Table"]["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    # and its scaling stays: the table keeps working as it was
    assert len(aas.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"]) == len(expected_targets())


# --- where the settings come from ---------------------------------------------------------------

def test_a_stage_may_record_it_and_the_deployer_override_it(tmp_path, monkeypatch):
    cfg = stages.load_config()
    cfg["stages"]["prod"]["environment_variables"].update(
        {"INFRAI_TABLE_CAPACITY": "provisioned", "INFRAI_WRITE_CAPACITY": "100-2000"})
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("INFRAI_WRITE_CAPACITY", "")   # `make deploy` without WRITE_CAPACITY
    with stages.applied("prod", tmp_path):
        assert capacity.table_capacity() == {"write": (100, 2000), "read": (25, 40000), "target": 70}
    monkeypatch.setenv("INFRAI_TABLE_CAPACITY", "on-demand")   # `make deploy TABLE_CAPACITY=on-demand`
    with stages.applied("prod", tmp_path):
        assert capacity.table_capacity() is None


@pytest.mark.parametrize("target, steps", [
    ("deploy", ["deploy.provision up", "chalice deploy", "deploy.provision tune"]),
    ("package", ["deploy.template", "chalice package"]),
])
def test_make_gives_every_step_the_settings(target, steps):
    run = subprocess.run(["make", "-n", target, "TABLE_CAPACITY=provisioned", "WRITE_CAPACITY=50-5000",
                          "READ_CAPACITY=10-800", "CAPACITY_TARGET=60"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    for step in steps:
        lines = [line for line in run.stdout.splitlines() if step in line]
        assert lines and all(f"{k}='{v}'" in line for line in lines for k, v in PROVISIONED.items()), (step, run.stdout)
