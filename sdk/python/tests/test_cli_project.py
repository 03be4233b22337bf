"""`infrai whoami`, `infrai project show|set`: the project's settings from the command line, against
the fake API (the whole CLI against the local stack: tests/e2e/test_cli.py)."""
from click.testing import CliRunner

from infrai import cli

KEY = "ifr_pk_proj_" + "a" * 40

ME = {"project_id": "proj_1", "plan": "trial", "limits": {}, "usage": {}, "keys": [],
      "retention_days": {"succeeded": 30, "failed": 90}}


def run(fake, *args):
    return CliRunner().invoke(cli.main, ["--api-key", KEY, "--base-url", fake.url, *args], env={"COLUMNS": "200"})


def test_whoami_and_show_say_how_long_deliveries_are_kept(fake):
    fake.default = (200, ME, {})
    for args in (["whoami"], ["project", "show"]):
        out = run(fake, *args)
        assert out.exit_code == 0, out.output
        assert "30 days after success, 90 days after failure or cancellation" in out.output


def test_set_sends_the_retention_given(fake):
    fake.default = (200, {"retention_days": {"succeeded": 7, "failed": 90}}, {})
    out = run(fake, "project", "set", "--retention-succeeded", "7")
    assert out.exit_code == 0, out.output
    assert fake.requests[-1][:2] == ("PATCH", "/v1/auth/project")
    assert fake.requests[-1][3] == {"retention_days": {"succeeded": 7}}
    assert "7 days after success" in out.output
    out = run(fake, "--json", "project", "set", "--retention-succeeded", "7", "--retention-failed", "120")
    assert fake.requests[-1][3] == {"retention_days": {"succeeded": 7, "failed": 120}}
    assert '"retention_days"' in out.output


def test_set_sends_the_signatures_chosen(fake):
    fake.default = (200, {"retention_days": {"succeeded": 30, "failed": 90}, "signatures": ["v1", "v1a"]}, {})
    out = run(fake, "project", "set", "--signatures", "v1,v1a")
    assert out.exit_code == 0, out.output
    assert fake.requests[-1][3] == {"signatures": ["v1", "v1a"]}
    assert "signed v1 and v1a" in out.output
    assert run(fake, "project", "set", "--signatures", "v2").exit_code == 2


def test_set_needs_a_setting_and_checks_the_bounds_before_asking(fake):
    assert run(fake, "project", "set").exit_code == 2
    assert run(fake, "project", "set", "--retention-failed", "401").exit_code == 2
    assert fake.requests == []


def test_expunge_needs_the_confirmation_and_follows_the_job_to_its_end(fake):
    assert run(fake, "project", "expunge").exit_code == 2
    assert fake.requests == []
    report = {"project_id": "proj_1", "state": "running", "phase": "deliveries", "finished_at": None,
              "deleted": {"deliveries": 3, "cron_jobs": 1, "queues": 0}}
    fake.answer(202, report).answer(200, report).answer(200, {**report, "state": "completed", "phase": None,
                                                              "deleted": {"deliveries": 9, "cron_jobs": 1}})
    out = run(fake, "project", "expunge", "--confirm", "proj_1", "--interval", "0")
    assert out.exit_code == 0, out.output
    assert [r[:2] for r in fake.requests] == [("POST", "/v1/auth/project/expunge"),
                                             ("GET", "/v1/auth/project/expunge"), ("GET", "/v1/auth/project/expunge")]
    assert fake.requests[0][3] == {"confirm": "proj_1"}
    assert "completed" in out.output and "deliveries 9" in out.output
