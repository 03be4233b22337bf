"""A stage's settings come from `.chalice/config.json`, the file `chalice deploy` reads: the
resource names the functions see at run time are the names provisioning creates."""
import contextlib
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".chalice" / "config.json"


def load_config(project_dir: Path = ROOT) -> dict:
    return json.loads((Path(project_dir) / ".chalice" / "config.json").read_text())


def stage_environment(stage: str, project_dir: Path = ROOT) -> dict:
    """The environment variables a stage's functions get (top level, then the stage's own)."""
    cfg = load_config(project_dir)
    if stage not in cfg.get("stages", {}):
        raise SystemExit(f"no stage {stage!r} in .chalice/config.json (stages: {', '.join(cfg['stages'])})")
    env = dict(cfg.get("environment_variables", {}))
    env.update(cfg["stages"][stage].get("environment_variables", {}))
    return env


# Deploy settings: a stage may record one in its environment_variables (committed, so every
# deploy of the stage keeps it); the deployer's own environment overrides it for that run
# (`make deploy DELIVER_CONCURRENCY=800` sets INFRAI_DELIVER_CONCURRENCY).
DEPLOY_SETTINGS = ("INFRAI_DELIVER_CONCURRENCY", "INFRAI_DESTINATION_ARNS", "INFRAI_TABLE_CAPACITY",
                   "INFRAI_WRITE_CAPACITY", "INFRAI_READ_CAPACITY", "INFRAI_CAPACITY_TARGET")


def deploy_environment(stage: str, project_dir: Path = ROOT) -> dict:
    """The stage's environment with the deploy settings the deployer set (non-empty) on top:
    what app.py and the deploy code read at deploy and package time."""
    env = stage_environment(stage, project_dir)
    for name in DEPLOY_SETTINGS:
        if os.environ.get(name, "").strip():
            env[name] = os.environ[name]
    return env


# The packaged template's front door (docs/deployment.md#the-front-door-http-api-or-rest-api):
# `make package API_GATEWAY=rest` for that run, else the stage's "api_gateway" in
# .chalice/config.json, else the HTTP API. `chalice deploy` can only make a REST API.
API_GATEWAY_ENV = "INFRAI_API_GATEWAY"
API_GATEWAYS = ("http", "rest")
DEFAULT_API_GATEWAY = "http"


def chosen_api_gateway(stage: str, project_dir: Path = ROOT) -> str | None:
    """The front door the deployer or the stage named, or None when neither did."""
    value = os.environ.get(API_GATEWAY_ENV, "").strip().lower() or \
        load_config(project_dir).get("stages", {}).get(stage, {}).get("api_gateway")
    if value and value not in API_GATEWAYS:
        raise SystemExit(f"{API_GATEWAY_ENV}/api_gateway={value!r}: the front door is one of "
                         f"{', '.join(API_GATEWAYS)} (docs/deployment.md#the-front-door-http-api-or-rest-api)")
    return value or None


def api_gateway(stage: str, project_dir: Path = ROOT) -> str:
    """The packaged template's front door: "http" (the default) or "rest"."""
    return chosen_api_gateway(stage, project_dir) or DEFAULT_API_GATEWAY


def app_name(project_dir: Path = ROOT) -> str:
    return load_config(project_dir)["app_name"]


def function_names(stage: str, project_dir: Path = ROOT) -> dict:
    """Chalice's own naming: `<app>-<stage>` for the API handler, `<app>-<stage>-<name>` else."""
    app = app_name(project_dir)
    return {"api_handler": f"{app}-{stage}", "deliver": f"{app}-{stage}-deliver",
            "reconcile": f"{app}-{stage}-reconcile"}


def role_name(stage: str, project_dir: Path = ROOT) -> str:
    """The functions' role `chalice deploy` makes for a stage (its DefaultRole)."""
    return f"{app_name(project_dir)}-{stage}"


@contextlib.contextmanager
def applied(stage: str, project_dir: Path = ROOT):
    """os.environ as the stage's functions see it, with the deployer's deploy settings (for
    provisioning and for importing app.py, whose SQS event source takes its queue name and
    maximum concurrency from the environment)."""
    env = deploy_environment(stage, project_dir)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv=None) -> int:
    """`python -m deploy.stage STAGE -- COMMAND...`: run COMMAND with the stage's environment
    (app.py binds the deliver function to the queue named there, at deploy and package time)."""
    import subprocess
    import sys
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        print(main.__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ, **deploy_environment(argv[0]))
    return subprocess.call(argv[2:], env=env)


if __name__ == "__main__":
    raise SystemExit(main())
