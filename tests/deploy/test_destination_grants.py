"""Destinations in the user's AWS account (docs/deployment.md#destinations-in-your-aws-account):
the deploy setting INFRAI_DESTINATION_ARNS grants the functions exactly the listed ARNs, through
`make deploy` (provision tune) and the packaged template alike; an empty list grants nothing."""
import json

import pytest
from tests.mocked_aws import mocked_aws

from deploy import provision
from deploy import resources as deploy_resources
from deploy import stage as stages
from deploy import template

QUEUE = "arn:aws:sqs:eu-west-1:123456789012:orders-in"
BUS = "arn:aws:events:us-east-1:210987654321:event-bus/orders"
ROLE = "arn:aws:iam::210987654321:role/infrai-sender"


def test_exactly_the_listed_arns_are_granted_each_with_its_one_action(monkeypatch):
    monkeypatch.setenv("INFRAI_DESTINATION_ARNS", f"{QUEUE}, {BUS}\n{ROLE},{QUEUE}")
    arns = deploy_resources.destination_arns()
    assert arns == [QUEUE, BUS, ROLE]
    statements = deploy_resources.destinations_policy(arns)["Statement"]
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("sqs:SendMessage", [QUEUE]), ("events:PutEvents", [BUS]), ("sts:AssumeRole", [ROLE])]
    assert all(s["Effect"] == "Allow" and "*" not in json.dumps(s) for s in statements)
    monkeypatch.setenv("INFRAI_DESTINATION_ARNS", "")
    assert deploy_resources.destinations_policy(deploy_resources.destination_arns()) is None


@pytest.mark.parametrize("bad", ["arn:aws:sqs:*:123456789012:*", "arn:aws:s3:::bucket", "orders-in"])
def test_a_listed_arn_that_is_no_destination_stops_the_deploy(monkeypatch, bad):
    monkeypatch.setenv("INFRAI_DESTINATION_ARNS", f"{QUEUE},{bad}")
    with pytest.raises(SystemExit, match="INFRAI_DESTINATION_ARNS"):
        deploy_resources.destination_arns()


def test_the_packaged_template_grants_the_list_to_the_functions_role_and_tells_the_functions(monkeypatch):
    monkeypatch.setenv("INFRAI_DESTINATION_ARNS", f"{QUEUE},{ROLE}")
    res = template.merge_template("prod")["Resources"]
    policy = res["DestinationsPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "DefaultRole"}]
    assert policy["PolicyDocument"] == deploy_resources.destinations_policy([QUEUE, ROLE])
    deliver = res[template._cfn_name("deliver")]["Properties"]["Environment"]["Variables"]
    assert deliver["INFRAI_DESTINATION_ARNS"] == f"{QUEUE},{ROLE}"
    monkeypatch.delenv("INFRAI_DESTINATION_ARNS")
    res = template.merge_template("prod")["Resources"]
    assert "DestinationsPolicy" not in res, "an empty list grants nothing"
    assert res[template._cfn_name("deliver")]["Properties"]["Environment"]["Variables"]["INFRAI_DESTINATION_ARNS"] == ""


def test_make_deploy_puts_the_grant_on_the_functions_role_and_takes_it_away(monkeypatch):
    with mocked_aws(monkeypatch, provisioned=False):
        import boto3
        iam = boto3.client("iam", region_name="us-east-1")
        role = stages.role_name("prod")
        iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")   # what chalice deploy makes
        monkeypatch.setenv("INFRAI_DESTINATION_ARNS", BUS)
        provision.tune("prod")
        doc = iam.get_role_policy(RoleName=role, PolicyName=deploy_resources.DESTINATIONS_POLICY_NAME)["PolicyDocument"]
        assert doc == deploy_resources.destinations_policy([BUS])
        monkeypatch.setenv("INFRAI_DESTINATION_ARNS", "")   # the stage's recorded list: empty
        provision.tune("prod")
        assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
