"""`make deploy`, rehearsed: provisioning and `chalice deploy --stage local` against the moto
server (botocore honours AWS_ENDPOINT_URL), twice, then `chalice delete` and teardown.

Two gaps of moto 5.2.5's API Gateway are bridged here, in the emulator, not in the app:
- ImportRestApi reads `info.description`, which Chalice's Swagger never sets:
  `KeyError: 'description'` in moto/apigateway/models.py import_rest_api, seen by chalice as
  "An error occurred (500) when calling the ImportRestApi operation".
- moto imports OpenAPI 3 only; Chalice sends Swagger 2.0: "An error occurred
  (BadRequestException) when calling the ImportRestApi operation: Only OpenAPI 3.x.x are
  currently supported". moto reads only `paths` of the document, which both versions share.
What moto cannot show (the Swagger itself, authorizers, permissions wiring) the packaged-template
test covers (test_template.py)."""
import json
import socket
import subprocess

import boto3
import pytest

from deploy import provision
from deploy import stage as stages

from .bundle import CRYPTOGRAPHY_RUST, ELF_MACHINE, code_sha256, compiled_modules
from .conftest import CHALICE, copy_project, stage_env

STAGE = "local"
REGION = "us-east-1"
DUMMY = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal",
         "AWS_SESSION_TOKEN": "rehearsal", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


def _bridge_moto_api_gateway(mp):
    from moto.apigateway import models

    import_rest_api = models.APIGatewayBackend.import_rest_api
    put_rest_api = models.APIGatewayBackend.put_rest_api

    def import_with_description(self, api_doc, fail_on_warnings):
        api_doc.setdefault("info", {}).setdefault("description", "")
        return import_rest_api(self, api_doc, fail_on_warnings)

    def put_swagger_as_openapi(self, function_id, api_doc, fail_on_warnings, mode="merge"):
        if api_doc.get("swagger"):
            api_doc = {k: v for k, v in api_doc.items() if k != "swagger"} | {"openapi": "3.0.1"}
        return put_rest_api(self, function_id, api_doc, fail_on_warnings, mode)

    mp.setattr(models.APIGatewayBackend, "import_rest_api", import_with_description)
    mp.setattr(models.APIGatewayBackend, "put_rest_api", put_swagger_as_openapi)


@pytest.fixture
def moto_server(monkeypatch):
    import logging

    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _bridge_moto_api_gateway(monkeypatch)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    for k, v in DUMMY.items():
        monkeypatch.setenv(k, v)
    from chalicelib.aws import clients, dispatch
    clients.reset()
    dispatch.reset()
    provision._session.cache_clear()
    yield endpoint
    clients.reset()
    dispatch.reset()
    provision._session.cache_clear()
    server.stop()


def chalice(project, endpoint, *args):
    env = stage_env(STAGE, AWS_ENDPOINT_URL=endpoint, **DUMMY)
    run = subprocess.run([CHALICE, "--project-dir", str(project), *args], capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 0, f"chalice {' '.join(args)} failed:\n{run.stdout}\n{run.stderr[-4000:]}"
    return run.stdout


def deployed(endpoint):
    lam = boto3.client("lambda", region_name=REGION, endpoint_url=endpoint)
    api = boto3.client("apigateway", region_name=REGION, endpoint_url=endpoint)
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint)
    apis = api.get_rest_apis()["items"]
    return {
        "functions": sorted(f["FunctionName"] for f in lam.list_functions()["Functions"]),
        "event_sources": [(e["EventSourceArn"].rsplit(":", 1)[-1], e["FunctionArn"].rsplit(":", 1)[-1],
                           e["BatchSize"]) for e in lam.list_event_source_mappings()["EventSourceMappings"]],
        "apis": [(a["name"], sorted(r["path"] for r in api.get_resources(restApiId=a["id"])["items"]))
                 for a in apis],
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
    }


def _scaling(endpoint) -> dict:
    (esm,) = boto3.client("lambda", region_name=REGION, endpoint_url=endpoint).list_event_source_mappings()[
        "EventSourceMappings"]
    return esm.get("ScalingConfig")


def test_make_deploy_against_moto(moto_server, tmp_path, monkeypatch):
    endpoint = moto_server
    env = stages.stage_environment(STAGE)
    names = stages.function_names(STAGE)
    # `make deploy DELIVER_CONCURRENCY=750`: every step sees INFRAI_DELIVER_CONCURRENCY
    monkeypatch.setenv("INFRAI_DELIVER_CONCURRENCY", "750")
    up = provision.up(STAGE)
    assert up["scheduler_role_arn"] == env["INFRAI_SCHEDULER_ROLE_ARN"], \
        "the local stage's config names the role provisioning makes"
    project = copy_project(tmp_path / "project")
    out = chalice(project, endpoint, "deploy", "--stage", STAGE)
    assert "Rest API URL" in out
    assert _scaling(endpoint) == {"MaximumConcurrency": 750}, "chalice deploy takes it from app.py"
    provision.tune(STAGE)
    assert _scaling(endpoint) == {"MaximumConcurrency": 750}
    assert "MISSING_AUTHENTICATION_TOKEN" in provision.tune_api(STAGE)
    apigw = boto3.client("apigateway", region_name=REGION, endpoint_url=endpoint)
    (api_id,) = [a["id"] for a in apigw.get_rest_apis()["items"]]
    answers = {r["responseType"]: r for r in apigw.get_gateway_responses(restApiId=api_id)["items"]}
    assert answers["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404", "unknown routes: 404, our format"
    assert provision.tune_api(STAGE) == [], "a second tune changes nothing"

    first = deployed(endpoint)
    assert set(names.values()) <= set(first["functions"])
    assert first["event_sources"] == [(env["INFRAI_DISPATCH_QUEUE"], names["deliver"], 10)]
    ((api_name, paths),) = first["apis"]
    assert api_name == stages.app_name() and "/v1/scheduling/webhook" in " ".join(paths)
    # Chalice makes one role per function when the policy is hand-written
    assert {f"{names['api_handler']}-api_handler", names["deliver"], "infrai-local-scheduler"} <= set(first["roles"])

    lam = boto3.client("lambda", region_name=REGION, endpoint_url=endpoint)
    for fn in names.values():
        cfg = lam.get_function_configuration(FunctionName=fn)
        assert cfg["Environment"]["Variables"] == env
    # the code `chalice deploy` uploaded (the bundle it built: same CodeSha256) carries
    # cryptography compiled for the functions' architecture, as `make package` does (test_bundle.py)
    arch = json.loads((project / ".chalice" / "config.json").read_text())["stages"][STAGE]["lambda_architecture"]
    bundles = {code_sha256(z): z for z in (project / ".chalice" / "deployments").glob("*.zip")}
    for fn in names.values():
        cfg = lam.get_function_configuration(FunctionName=fn)
        assert cfg["Architectures"] == [arch] == ["arm64"]
        assert compiled_modules(bundles[cfg["CodeSha256"]])[CRYPTOGRAPHY_RUST] == ELF_MACHINE[arch]
    deliver = lam.get_function_configuration(FunctionName=names["deliver"])
    from chalicelib.aws import resources
    assert deliver["Timeout"] == resources.DELIVER_FUNCTION_TIMEOUT
    (esm,) = lam.list_event_source_mappings()["EventSourceMappings"]
    from deploy import resources as deploy_resources
    assert esm["MaximumBatchingWindowInSeconds"] == deploy_resources.DELIVER_BATCHING_WINDOW
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"], "partial batch responses"
    # the reconciler runs every minute on an EventBridge rule, as `chalice deploy` makes it
    events = boto3.client("events", region_name=REGION, endpoint_url=endpoint)
    rules = [r for r in events.list_rules()["Rules"] if "reconcile" in r["Name"]]
    assert [r["ScheduleExpression"] for r in rules] == ["rate(1 minute)"]
    targets = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"]
    assert [t["Arn"].rsplit(":", 1)[-1] for t in targets] == [names["reconcile"]]

    # the stage's policy file, verbatim, on each function's role
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint)
    policy = json.loads((project / ".chalice" / f"policy-{STAGE}.json").read_text())
    for fn in names.values():
        role = lam.get_function_configuration(FunctionName=fn)["Role"].rsplit("/", 1)[-1]
        (pname,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert iam.get_role_policy(RoleName=role, PolicyName=pname)["PolicyDocument"] == policy

    # a cap changed by hand is put back by the next tune
    lam.update_event_source_mapping(UUID=esm["UUID"], ScalingConfig={"MaximumConcurrency": 20})
    assert provision.tune(STAGE) == [esm["UUID"]]
    assert _scaling(endpoint) == {"MaximumConcurrency": 750}
    assert provision.tune(STAGE) == [], "a second tune changes nothing"

    # `make deploy` again, with another concurrency: nothing new, the event source updated
    monkeypatch.setenv("INFRAI_DELIVER_CONCURRENCY", "40")
    before = provision.describe(STAGE)
    provision.up(STAGE)
    chalice(project, endpoint, "deploy", "--stage", STAGE)
    assert _scaling(endpoint) == {"MaximumConcurrency": 40}
    provision.tune(STAGE)
    assert deployed(endpoint) == first
    assert provision.describe(STAGE) == before
    assert _scaling(endpoint) == {"MaximumConcurrency": 40}

    # `make destroy`
    chalice(project, endpoint, "delete", "--stage", STAGE)
    provision.down(STAGE)
    gone = deployed(endpoint)
    assert gone["functions"] == [] and gone["event_sources"] == [] and gone["apis"] == []
