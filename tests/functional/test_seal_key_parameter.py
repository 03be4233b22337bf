"""A deployed stage's sealing key: provisioning makes it in SSM Parameter Store
(deploy/provision.py), the functions read it there (INFRAI_SEAL_KEY_PARAMETER) when INFRAI_SEAL_KEY
is unset, again every 5 minutes per container. Without this a deployed stage answered 503 to
every send carrying an Authorization header."""
import base64
import os

import boto3
import pytest

from chalicelib.aws import parameters
from chalicelib.core import at_rest
from deploy import provision

from .conftest import drain

SEND = "/v1/scheduling/webhook/send"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def ssm():
    return boto3.client("ssm", region_name="us-east-1")


@pytest.fixture
def deployed(aws, monkeypatch):
    """As on AWS: no INFRAI_SEAL_KEY, the parameter provisioning made named by the stage's config;
    a fresh container (nothing read yet) before and after. Name it before `api`: the project is
    then made on the deployed stage, its signing secret sealed with the parameter's key."""
    name = provision.seal_key_parameter("prod")
    monkeypatch.delenv("INFRAI_SEAL_KEY", raising=False)
    monkeypatch.setenv("INFRAI_SEAL_KEY_PARAMETER", name)
    parameters.reset()
    yield name
    parameters.reset()


def test_a_send_with_an_authorization_header_works_on_a_deployed_stage(deployed, api, receiver):
    resp = api.call("POST", SEND, {"url": receiver.url("/h"), "payload": {"n": 1},
                                   "headers": {"Authorization": "Bearer abcdefgh-1234"}})
    assert resp.status_code == 202, resp.data
    shown = api.call("GET", f"/v1/scheduling/webhook/deliveries/{resp.data['delivery_id']}").data["headers"]
    assert shown["Authorization"] == "••••1234"
    drain()
    assert receiver.wait_for("/h", 1)[0].headers["authorization"] == "Bearer abcdefgh-1234"


def test_values_are_sealed_with_the_parameters_key(deployed, monkeypatch):
    token = at_rest.seal("s3cret", "proj_x:header.authorization")
    assert at_rest.unseal(token, "proj_x:header.authorization") == "s3cret"
    stored = ssm().get_parameter(Name=deployed, WithDecryption=True)["Parameter"]["Value"]
    monkeypatch.setenv("INFRAI_SEAL_KEY", stored)        # the parameter's key opens it ...
    assert at_rest.unseal(token, "proj_x:header.authorization") == "s3cret"
    monkeypatch.setenv("INFRAI_SEAL_KEY", new_key())     # ... and INFRAI_SEAL_KEY, when set, wins
    with pytest.raises(at_rest.Unreadable):
        at_rest.unseal(token, "proj_x:header.authorization")


def test_the_parameter_is_read_once_per_container(deployed):
    token = at_rest.seal("s3cret", "ctx")
    ssm().delete_parameter(Name=deployed)            # a warm container does not ask again
    assert at_rest.unseal(token, "ctx") == "s3cret"
    assert at_rest.unseal(at_rest.seal("more", "ctx"), "ctx") == "more"


def test_a_rotated_parameter_reaches_a_warm_container_after_its_refresh(deployed, monkeypatch):
    """A warm container reads the parameter again after REFRESH_SECONDS: a key rotated in is used
    without a deploy; and if SSM fails that read, the value it had still serves."""
    old = ssm().get_parameter(Name=deployed, WithDecryption=True)["Parameter"]["Value"]
    before = at_rest.seal("old value", "ctx")
    new = new_key()
    ssm().put_parameter(Name=deployed, Type="SecureString", Value=f"{new},{old}", Overwrite=True)
    assert at_rest.unseal(at_rest.seal("x", "ctx"), "ctx") == "x"        # still the old key, within the refresh
    later = parameters._now() + parameters.REFRESH_SECONDS + 1
    monkeypatch.setattr(parameters, "_now", lambda: later)
    after = at_rest.seal("new value", "ctx")                               # read again: NEW seals now
    ssm().put_parameter(Name=deployed, Type="SecureString", Value=new, Overwrite=True)
    parameters.reset()
    assert at_rest.unseal(after, "ctx") == "new value"                    # sealed with NEW, not OLD
    with pytest.raises(at_rest.Unreadable):
        at_rest.unseal(before, "ctx")
    later += parameters.REFRESH_SECONDS + 1
    ssm().delete_parameter(Name=deployed)                                  # SSM fails the next refresh
    assert at_rest.unseal(after, "ctx") == "new value"                    # the value read before serves


def test_a_rotation_in_the_parameter(deployed):
    old = ssm().get_parameter(Name=deployed, WithDecryption=True)["Parameter"]["Value"]
    before = at_rest.seal("old value", "ctx")
    new = new_key()
    ssm().put_parameter(Name=deployed, Type="SecureString", Value=f"{new},{old}", Overwrite=True)
    parameters.reset()                                # a new container reads "new,old"
    assert at_rest.unseal(before, "ctx") == "old value"
    after = at_rest.seal("new value", "ctx")
    ssm().put_parameter(Name=deployed, Type="SecureString", Value=new, Overwrite=True)
    parameters.reset()
    assert at_rest.unseal(after, "ctx") == "new value"
    with pytest.raises(at_rest.Unreadable):           # the old key gone: its values no longer open
        at_rest.unseal(before, "ctx")


def test_a_missing_parameter_is_a_503_naming_it_and_is_asked_again(deployed, api, receiver, monkeypatch):
    monkeypatch.setenv("INFRAI_SEAL_KEY_PARAMETER", "/infrai/nowhere/seal-key")
    body = {"url": receiver.url("/h"), "payload": {}, "headers": {"Authorization": "Bearer abcdefgh-1234"}}
    resp = api.call("POST", SEND, body)
    assert resp.status_code == 503 and "/infrai/nowhere/seal-key" in resp.data["error"]["message"]
    ssm().put_parameter(Name="/infrai/nowhere/seal-key", Type="SecureString", Value=new_key())
    assert api.call("POST", SEND, body).status_code == 202   # a failure is not kept


def test_a_malformed_parameter_is_a_503(deployed, api):
    ssm().put_parameter(Name=deployed, Type="SecureString", Value="not a key", Overwrite=True)
    parameters.reset()                                # a container started after that
    resp = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {},
                                   "headers": {"Authorization": "Bearer abcdefgh-1234"}})
    assert resp.status_code == 503 and resp.data["error"]["code"] == "unavailable"
