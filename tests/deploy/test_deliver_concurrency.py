"""The deliver function's maximum concurrency is a deploy setting (INFRAI_DELIVER_CONCURRENCY,
`make deploy`/`make package DELIVER_CONCURRENCY=n`): the default unless given, refused out of
Lambda's range (2 to 1,000) before anything is made, and carried by every step that sets the
event source (app.py for Chalice, the merge template, `provision tune`). The packaged template
(test_template.py) and `chalice deploy` against moto (test_rehearsal.py) show it end to end."""
import json
import os
import subprocess
import sys

import pytest

from chalicelib import config
from deploy import resources as deploy_resources
from deploy import stage as stages
from deploy import template

from .conftest import ROOT, stage_env

VAR = "INFRAI_DELIVER_CONCURRENCY"


@pytest.mark.parametrize("raw, value", [(None, config.DELIVER_CONCURRENCY_DEFAULT),
                                        ("", config.DELIVER_CONCURRENCY_DEFAULT),
                                        ("2", 2), (" 1000 ", 1000), ("750", 750)])
def test_the_setting_and_its_default(monkeypatch, raw, value):
    if raw is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, raw)
    assert config.deliver_concurrency() == value == deploy_resources.deliver_max_concurrency()


def test_the_default_fits_lambdas_range():
    assert config.DELIVER_CONCURRENCY_MIN <= config.DELIVER_CONCURRENCY_DEFAULT <= config.DELIVER_CONCURRENCY_MAX
    assert (config.DELIVER_CONCURRENCY_MIN, config.DELIVER_CONCURRENCY_MAX) == (2, 1000), \
        "ScalingConfig.MaximumConcurrency: minimum 2, maximum 1000 (Lambda API reference)"


@pytest.mark.parametrize("raw", ["1", "0", "-5", "1001", "5000", "abc", "2.5", "20 0"])
def test_out_of_range_is_refused_saying_why(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ValueError) as e:
        config.deliver_concurrency()
    assert VAR in str(e.value) and "2 to 1000" in str(e.value) and repr(raw) in str(e.value)
    with pytest.raises(SystemExit) as stop:   # how the deploy steps stop: a message, no traceback
        deploy_resources.deliver_max_concurrency()
    assert str(stop.value) == str(e.value)


def test_the_merge_template_carries_it(monkeypatch):
    def scaling():
        res = template.merge_template("prod")["Resources"]
        (event,) = res["Deliver"]["Properties"]["Events"].values()
        return event["Properties"]["ScalingConfig"]

    monkeypatch.delenv(VAR, raising=False)
    assert scaling() == {"MaximumConcurrency": config.DELIVER_CONCURRENCY_DEFAULT}
    monkeypatch.setenv(VAR, "900")
    assert scaling() == {"MaximumConcurrency": 900}
    monkeypatch.setenv(VAR, "1001")
    with pytest.raises(SystemExit, match="2 to 1000"):
        template.merge_template("prod")


def _app_event_source(env) -> subprocess.CompletedProcess:
    code = ("from chalice.app import SQSEventConfig; from app import app; "
            "print([s.maximum_concurrency for s in app.event_sources if isinstance(s, SQSEventConfig)])")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_app_py_gives_chalice_the_setting():
    """What `chalice deploy` and `chalice package` put on the event source: app.py's decorator,
    imported with the stage's environment and the deploy settings (deploy/stage.py)."""
    base = {k: v for k, v in stage_env("prod").items() if k != VAR}
    run = _app_event_source(base)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"[{config.DELIVER_CONCURRENCY_DEFAULT}]"
    run = _app_event_source({**base, VAR: "640"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[640]"
    run = _app_event_source({**base, VAR: "1001"})
    assert run.returncode != 0 and "2 to 1000" in run.stderr, "chalice deploy/package refuse it too"


def test_a_stage_may_record_it_and_the_deployer_override_it(tmp_path, monkeypatch):
    cfg = stages.load_config()
    cfg["stages"]["prod"]["environment_variables"][VAR] = "300"
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(cfg))
    monkeypatch.delenv(VAR, raising=False)
    assert stages.deploy_environment("prod", tmp_path)[VAR] == "300"
    monkeypatch.setenv(VAR, "")          # `make deploy` without DELIVER_CONCURRENCY
    assert stages.deploy_environment("prod", tmp_path)[VAR] == "300"
    with stages.applied("prod", tmp_path):
        assert deploy_resources.deliver_max_concurrency() == 300
    monkeypatch.setenv(VAR, "800")       # `make deploy DELIVER_CONCURRENCY=800`
    assert stages.deploy_environment("prod", tmp_path)[VAR] == "800"
    with stages.applied("prod", tmp_path):
        assert deploy_resources.deliver_max_concurrency() == 800
    assert os.environ[VAR] == "800"      # restored
    assert VAR not in stages.stage_environment("prod")   # the committed stages leave it to the default


@pytest.mark.parametrize("target, steps", [
    ("deploy", ["deploy.provision up", "chalice deploy", "deploy.provision tune"]),
    ("package", ["deploy.template", "chalice package"]),
])
def test_make_gives_every_step_the_setting(target, steps):
    run = subprocess.run(["make", "-n", target, "DELIVER_CONCURRENCY=800"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    for step in steps:
        lines = [line for line in run.stdout.splitlines() if step in line]
        assert lines and all(f"{VAR}='800'" in line for line in lines), (step, run.stdout)


def test_the_sizing_arithmetic():
    """bench/sizing.py, which prints the table in docs/deployment.md#sizing-the-deliver-function
    (with the handler time of docs/benchmarks.md: 337 ms for a batch of 10 against a 200 ms receiver)."""
    from bench import sizing
    one_second = sizing.needs(10_000, 1.0, 0.137)
    assert one_second["in_flight"] == 10_000 and one_second["invocations"] == 1_137
    assert round(one_second["rate_at_esm_max"]) == 8_795 and one_second["queues_at_esm_max"] == 2
    assert round(one_second["ramp_minutes"], 1) == 3.3
    fast = sizing.needs(10_000, 0.1, 0.137)
    assert fast["invocations"] == 237 and round(fast["rate_at_default"]) == 21_097
    slow = sizing.needs(10_000, 5.0, 0.137)
    assert slow["invocations"] == 5_137 and slow["queues_at_esm_max"] == 6
    # with no handler time at all, the ESM maximum x 10 is exactly 10,000 in flight
    assert sizing.needs(10_000, 1.0, 0.0)["invocations"] == sizing.ESM_MAX
