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


def test_set_needs_a_setting_and_checks_the_bounds_before_asking(fake):
    assert run(fake, "project", "set").exit_code == 2
    assert run(fake, "project", "set", "--retention-failed", "401").exit_code == 2
    assert fake.requests == []
