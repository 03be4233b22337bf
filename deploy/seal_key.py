"""The stage's at-rest sealing key (chalicelib/config.py seal_keys, core/at_rest.py): an SSM
SecureString under the account's aws/ssm key, made once with 32 random bytes and never
overwritten, since a new key would leave every value sealed with the old one unreadable. Its
value is never printed or described, only its name and metadata. Each function takes the SSM
client (deploy/provision.py makes it)."""
import base64
import os

from . import resources as deploy_resources
from . import stage as stages


def name(stage: str) -> str:
    """The stage's own setting (.chalice/config.json), else the default name. Call it with the
    stage's settings applied (stages.applied)."""
    return os.environ.get("INFRAI_SEAL_KEY_PARAMETER", "").strip() or \
        deploy_resources.seal_key_parameter_name(stage)


def ensure(ssm, stage: str) -> str:
    """Make the parameter if it is not there (never overwritten); returns its name."""
    with stages.applied(stage):
        parameter = name(stage)
    try:
        ssm.put_parameter(Name=parameter, Type="SecureString", Overwrite=False,
                          Value=base64.b64encode(os.urandom(deploy_resources.SEAL_KEY_BYTES)).decode(),
                          Description=f"infrai {stage}: the at-rest sealing key (docs/deployment.md#the-sealing-key)")
    except ssm.exceptions.ParameterAlreadyExists:
        pass
    return parameter


def describe(ssm, parameter: str) -> list[dict]:
    """The parameter's metadata (its version shows an overwrite), never its value."""
    found = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [parameter]}])["Parameters"]
    return [{k: p.get(k) for k in ("Name", "Type", "KeyId", "Version", "LastModifiedDate")} for p in found]


def delete(ssm, parameter: str) -> None:
    try:
        ssm.delete_parameter(Name=parameter)
    except ssm.exceptions.ParameterNotFound:
        pass
