"""Deployment tests: the packaged template, provisioning against moto, `chalice deploy` rehearsed
against the moto server, and least privilege checked against the operations the suite recorded."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALICE = str(Path(sys.executable).with_name("chalice"))
PACKAGED_STAGE = "prod"
# The packaged template is made with the deliver function's concurrency given as `make package
# DELIVER_CONCURRENCY=750` gives it (a value other than the default, so the test sees it carried).
PACKAGED_DELIVER_CONCURRENCY = 750


def _require(module: str):
    try:
        __import__(module)
    except ImportError:
        pytest.fail(f"{module} is missing: pip install -r requirements-deploy.txt "
                    "(make check-template installs it)", pytrace=False)


def copy_project(dest: Path) -> Path:
    """What Chalice bundles and reads, in a directory of its own (so .chalice/deployed state and
    build caches never land in the work tree)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "app.py", dest / "app.py")
    shutil.copy2(ROOT / "requirements.txt", dest / "requirements.txt")
    shutil.copytree(ROOT / "chalicelib", dest / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (dest / ".chalice").mkdir()
    for f in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(f, dest / ".chalice" / f.name)
    cache = ROOT / ".chalice" / "deployments"     # Chalice's own dependency-bundle cache
    if cache.is_dir():
        shutil.copytree(cache, dest / ".chalice" / "deployments")
    return dest


def stage_env(stage: str, **extra) -> dict:
    """The environment `python -m deploy.stage STAGE -- chalice ...` gives Chalice: the stage's,
    with the deploy settings set in this process (as `make` sets them) on top."""
    from deploy import stage as stages
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAI_")}
    env.update(stages.deploy_environment(stage))
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.update(extra)
    return env


def package(work: Path, front_door: str | None) -> dict:
    """`chalice package --merge-template` for the prod stage and `deploy.template --finish`, as
    `make package` runs them; `front_door` as `make package API_GATEWAY=...` gives it (None: the
    default). The SAM template and where it was written."""
    _require("samtranslator")
    _require("cfnlint")
    from deploy import stage as stages
    from deploy import template

    project = copy_project(work / "project")
    merge = work / "merge.json"
    settings = {"INFRAI_DELIVER_CONCURRENCY": str(PACKAGED_DELIVER_CONCURRENCY),
                stages.API_GATEWAY_ENV: front_door}
    saved = {k: os.environ.get(k) for k in settings}
    for k, v in settings.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        merge.write_text(json.dumps(template.merge_template(PACKAGED_STAGE)))
        env = stage_env(PACKAGED_STAGE)
        out = work / "out"
        run = subprocess.run([CHALICE, "--project-dir", str(project), "package", "--stage", PACKAGED_STAGE,
                              "--merge-template", str(merge), str(out)],
                             capture_output=True, text=True, env={k: v for k, v in env.items()
                                                                  if k != "AWS_ENDPOINT_URL"}, timeout=300)
        assert run.returncode == 0, f"chalice package failed:\n{run.stdout}\n{run.stderr}"
        sam = template.finish(json.loads((out / "sam.json").read_text()), PACKAGED_STAGE)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"sam": sam, "dir": out, "front_door": front_door or stages.DEFAULT_API_GATEWAY}


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    """The prod stage packaged with the default front door (the HTTP API), once per session."""
    return package(tmp_path_factory.mktemp("package"), None)


@pytest.fixture(scope="session")
def packaged_rest(tmp_path_factory):
    """The prod stage packaged with `make package API_GATEWAY=rest`, once per session."""
    return package(tmp_path_factory.mktemp("package-rest"), "rest")
