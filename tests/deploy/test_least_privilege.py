"""Least privilege, shown: each stage's policy allows every AWS operation the service's code made
during the test suite, and nothing else (bar what Lambda itself does with the function's role).

The operations come from tests/oprecorder.py: the suite runs with INFRAI_OPS_LOG set and records
every botocore call made from chalicelib/; this test reads that log afterwards."""
import fnmatch
import json
import os
from pathlib import Path

import pytest

from deploy import resources as deploy_resources
from deploy import stage as stages

from .conftest import ROOT

REGION, ACCOUNT = "us-east-1", "123456789012"
DEFAULT_LOG = ROOT / "build" / "botocore-ops.log"
HOW = ("Produce it by running the rest of the suite first, in its own pytest run, with the recorder "
       "on:\n    rm -f build/botocore-ops.log && INFRAI_OPS_LOG=$PWD/build/botocore-ops.log "
       ".venv/bin/python -m pytest tests --ignore=tests/deploy\nthen run tests/deploy with the same "
       "INFRAI_OPS_LOG (tests/conftest.py must call tests.oprecorder.install()).")

# Done with the function's role by Lambda itself, not by our code: the SQS event source polls
# the dispatch queue, the runtime writes logs.
PLATFORM = {"sqs:ReceiveMessage": ["dispatch_queue"], "sqs:DeleteMessage": ["dispatch_queue"],
            "sqs:GetQueueAttributes": ["dispatch_queue"],
            "logs:CreateLogStream": ["log_groups"], "logs:PutLogEvents": ["log_groups"]}

TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
BATCH_SQS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
             "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def ops_log() -> Path:
    return Path(os.environ.get("INFRAI_OPS_LOG") or DEFAULT_LOG)


@pytest.fixture(scope="module")
def recorded(request):
    path = ops_log()
    if not path.is_file():
        pytest.fail(f"No record of the AWS operations the code makes: {path} does not exist.\n{HOW}",
                    pytrace=False)
    others = [i for i in request.session.items if "/tests/deploy/" not in str(i.path).replace("\\", "/")]
    if os.environ.get("INFRAI_OPS_LOG") and others:
        pytest.fail("tests/deploy ran in the same pytest run as the tests that write the operations "
                    f"log, so the log is incomplete.\n{HOW}", pytrace=False)
    calls = []
    for line in path.read_text().splitlines():
        if line.strip():
            op, _, detail = line.partition("\t")
            calls.append((op, json.loads(detail or "{}")))
    if not calls:
        pytest.fail(f"{path} records no AWS call at all.\n{HOW}", pytrace=False)
    return calls


def arn(stage_env: dict, logical: str, *, index=None, schedule=None) -> str:
    """The ARN of a resource the recorder named by its role, in the given stage."""
    if logical.startswith("destination:"):
        return logical.split(":", 1)[1]            # a subscription's destination: its own ARN
    if logical.startswith("other:"):
        return f"arn:aws:unknown:::{logical}"      # a name not from chalicelib/config.py: never allowed
    names = {"table": stage_env["INFRAI_TABLE"], "idempotency_table": stage_env["INFRAI_IDEMPOTENCY_TABLE"],
             "dispatch_queue": stage_env["INFRAI_DISPATCH_QUEUE"], "dead_letter_queue": stage_env["INFRAI_DLQ"],
             "schedule_group": stage_env["INFRAI_SCHEDULE_GROUP"]}
    if logical in ("table", "idempotency_table"):
        base = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names[logical]}"
        return base + (f"/index/{index}" if index else "")
    if logical in ("dispatch_queue", "dead_letter_queue"):
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{names[logical]}"
    if logical == "schedule_group":
        group = names[logical]
        return (f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/some-cron-job" if schedule
                else f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{group}")
    if logical == "scheduler_role":
        return f"arn:aws:iam::{ACCOUNT}:role/{deploy_resources.scheduler_role_name()}"
    if logical == "seal_key_parameter":   # a name starting with / follows "parameter" directly
        return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{stage_env['INFRAI_SEAL_KEY_PARAMETER']}"
    raise AssertionError(f"unknown resource role {logical}")


def iam_requests(op: str, detail: dict, env: dict):
    """(IAM action, resource ARN, condition context) for one recorded call."""
    service, operation = op.split(":", 1)
    if service == "dynamodb" and "items" in detail:
        for kind, table in detail["items"]:
            yield f"dynamodb:{TRANSACT[kind]}", arn(env, table), {}
    elif service == "dynamodb" and "tables" in detail:
        for table in detail["tables"]:
            yield f"dynamodb:{operation}", arn(env, table), {}
    elif service == "dynamodb":
        yield f"dynamodb:{operation}", arn(env, detail["table"], index=detail.get("index")), {}
    elif service == "sqs":
        yield f"sqs:{BATCH_SQS.get(operation, operation)}", arn(env, detail["queue"]), {}
    elif service == "ssm":
        yield f"ssm:{operation}", arn(env, detail["parameter"]), {}
    elif service == "events" and "buses" in detail:
        for bus in detail["buses"]:
            yield f"events:{operation}", arn(env, bus), {}
    elif service == "sts" and "role" in detail:
        yield f"sts:{operation}", arn(env, detail["role"]), {}
    elif service == "scheduler":
        if operation.startswith("List"):
            yield f"scheduler:{operation}", "*", {}
        else:
            yield f"scheduler:{operation}", arn(env, detail["group"], schedule=detail.get("schedule")), {}
        if "passes_role" in detail:
            yield "iam:PassRole", arn(env, detail["passes_role"]), {"iam:PassedToService": "scheduler.amazonaws.com"}
    else:
        yield op, "*", {}


def load_policy(stage: str) -> list[dict]:
    doc = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    statements = doc["Statement"]
    return [statements] if isinstance(statements, dict) else statements


def _list(v):
    return [v] if isinstance(v, str) else list(v)


def _conditions_hold(stmt: dict, context: dict) -> bool:
    for operator, pairs in stmt.get("Condition", {}).items():
        assert operator in ("StringEquals", "StringLike"), f"evaluator does not know {operator}"
        for key, wanted in pairs.items():
            have = context.get(key)
            match = (lambda w: have == w) if operator == "StringEquals" else (lambda w: have and fnmatch.fnmatchcase(have, w))
            if have is None or not any(match(w) for w in _list(wanted)):
                return False
    return True


def allowing(statements, action: str, resource: str, context: dict) -> list[dict]:
    """The Allow statements that grant the request (IAM's * and ? wildcards; there is no Deny)."""
    return [s for s in statements if s["Effect"] == "Allow"
            and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _list(s["Action"]))
            and any(fnmatch.fnmatchcase(resource, r) for r in _list(s["Resource"]))
            and _conditions_hold(s, context)]


def destinations_granted(recorded) -> list[dict]:
    """What `make deploy` grants when the setting lists every destination the suite delivered
    to (deploy/resources.destinations_policy): besides the stage's policy file, never in it."""
    arns = sorted({r.split(":", 1)[1] for _, detail in recorded for v in detail.values()
                   for r in (v if isinstance(v, list) else [v]) if isinstance(r, str) and r.startswith("destination:")})
    policy = deploy_resources.destinations_policy(arns)
    return policy["Statement"] if policy else []


def platform_requests(stage: str, env: dict):
    for action, logicals in PLATFORM.items():
        for logical in logicals:
            if logical == "log_groups":
                for fn in stages.function_names(stage).values():
                    yield action, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{fn}:log-stream:2026/01/01/x", {}
            else:
                yield action, arn(env, logical), {}


STAGES = ["local", "prod"]


@pytest.mark.parametrize("stage", STAGES)
def test_every_operation_the_code_makes_is_allowed(recorded, stage):
    env = stages.stage_environment(stage)
    statements = load_policy(stage) + destinations_granted(recorded)
    with stages.applied(stage):
        refused = sorted({f"{action} on {resource}  (recorded: {op} {json.dumps(detail)})"
                          for op, detail in recorded
                          for action, resource, ctx in iam_requests(op, detail, env)
                          if not allowing(statements, action, resource, ctx)})
        refused += [f"{a} on {r} (Lambda itself needs it)" for a, r, c in platform_requests(stage, env)
                    if not allowing(statements, a, r, c)]
    assert not refused, f".chalice/policy-{stage}.json refuses:\n" + "\n".join(refused)


@pytest.mark.parametrize("stage", STAGES)
def test_every_allowed_action_and_resource_is_used(recorded, stage):
    env = stages.stage_environment(stage)
    statements = load_policy(stage)
    with stages.applied(stage):
        requests = [r for op, detail in recorded for r in iam_requests(op, detail, env)]
        requests += list(platform_requests(stage, env))
    unused = []
    for stmt in statements:
        sid = stmt.get("Sid", "?")
        for action in _list(stmt["Action"]):
            if not any(fnmatch.fnmatchcase(a.lower(), action.lower()) and stmt in allowing([stmt], a, r, c)
                       for a, r, c in requests):
                unused.append(f"{sid}: {action} (nothing the code did needs it)")
        for resource in _list(stmt["Resource"]):
            if not any(fnmatch.fnmatchcase(r, resource) and stmt in allowing([stmt], a, r, c)
                       for a, r, c in requests):
                unused.append(f"{sid}: {resource} (no call touched it)")
    assert not unused, f".chalice/policy-{stage}.json allows more than the code uses:\n" + "\n".join(unused)


@pytest.mark.parametrize("stage", STAGES)
def test_resources_are_as_narrow_as_aws_allows(stage):
    env = stages.stage_environment(stage)
    with stages.applied(stage):
        role = deploy_resources.scheduler_role_name()
    prefix = {  # per IAM service prefix: the resource shapes this stage may name
        "dynamodb": [f"arn:aws:dynamodb:*:*:table/{env['INFRAI_TABLE']}",
                     f"arn:aws:dynamodb:*:*:table/{env['INFRAI_TABLE']}/index/*",
                     f"arn:aws:dynamodb:*:*:table/{env['INFRAI_IDEMPOTENCY_TABLE']}"],
        "sqs": [f"arn:aws:sqs:*:*:{env['INFRAI_DISPATCH_QUEUE']}", f"arn:aws:sqs:*:*:{env['INFRAI_DLQ']}"],
        "scheduler": [f"arn:aws:scheduler:*:*:schedule/{env['INFRAI_SCHEDULE_GROUP']}/*"],
        "iam": [f"arn:aws:iam::*:role/{role}"],
        "ssm": [f"arn:aws:ssm:*:*:parameter{env['INFRAI_SEAL_KEY_PARAMETER']}"],
        "logs": [f"arn:aws:logs:*:*:log-group:/aws/lambda/{fn}:*" for fn in stages.function_names(stage).values()],
    }
    for stmt in load_policy(stage):
        assert stmt["Effect"] == "Allow"
        actions, resources = _list(stmt["Action"]), _list(stmt["Resource"])
        assert all("*" not in a for a in actions), f"{stmt.get('Sid')}: wildcard action"
        services = {a.split(":")[0] for a in actions}
        assert len(services) == 1, f"{stmt.get('Sid')}: one service per statement"
        (service,) = services
        for r in resources:
            assert r != "*", f"{stmt.get('Sid')}: Resource '*' where {service} supports narrower"
            assert r in prefix[service], f"{stmt.get('Sid')}: {r} is not one of this stage's {service} resources"
        if "iam:PassRole" in actions:
            assert stmt["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
