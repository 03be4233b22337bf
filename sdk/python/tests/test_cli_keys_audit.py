"""`infrai keys ls|create|revoke` and `infrai audit`, against the fake API: what they send, and
that they print every id whole and API values as plain text."""
from click.testing import CliRunner

from infrai import cli

KEY = "ifr_pk_proj_" + "a" * 40
KEY_ID = "key_01JABCDEFGHJKMNPQRSTVWXYZ0"
CRON_ID = "cron_01JABCDEFGHJKMNPQRSTVWXYZ0"


def run(fake, *args, columns="200"):
    return CliRunner().invoke(cli.main, ["--api-key", KEY, "--base-url", fake.url, *args], env={"COLUMNS": columns})


def test_keys_create_sends_the_scopes_and_queues_and_shows_the_key_once(fake):
    fake.default = (201, {"key_id": KEY_ID, "api_key": "ifr_pk_proj_" + "b" * 40, "created_at": "2026-12-08T00:00:00.000Z",
                          "name": "ci", "scopes": ["read", "publish"], "queues": ["q1"]}, {})
    out = run(fake, "keys", "create", "--scope", "read", "--scope", "publish", "--queue", "q1", "--name", "ci")
    assert out.exit_code == 0, out.output
    assert fake.requests[-1][:2] == ("POST", "/v1/auth/keys")
    assert fake.requests[-1][3] == {"scopes": ["read", "publish"], "queues": ["q1"], "name": "ci"}
    assert "ifr_pk_proj_" + "b" * 40 in out.output and "read,publish" in out.output
    run(fake, "keys", "create")
    assert fake.requests[-1][3] == {}, "no scope given: the API makes an admin key"


def test_keys_ls_shows_scopes_and_whole_ids_as_plain_text(fake):
    fake.default = (200, {"keys": [
        {"key_id": KEY_ID, "key": "ifr_pk_proj_aaaa…aaaa", "name": "[red]x[/]", "scopes": ["manage"], "queues": None,
         "created_at": "2026-12-08T00:00:00.000Z", "revoked_at": None}]}, {})
    out = run(fake, "keys", "ls", columns="60")
    assert out.exit_code == 0, out.output
    assert KEY_ID in out.output and "manage" in out.output
    wide = run(fake, "keys", "ls", "-o", "wide")
    assert "[red]x[/]" in wide.output, "markup in an API value is printed as it is"


def test_audit_sends_the_filters_and_prints_each_entry(fake):
    fake.default = (200, {"entries": [
        {"audit_id": "aud_1", "at": "2026-12-08T01:02:03.456Z", "key_id": KEY_ID, "method": "POST",
         "route": "/v1/scheduling/cron", "resource_id": CRON_ID, "status": 201, "source_ip": "203.0.113.7"}],
        "next_cursor": "abc"}, {})
    out = run(fake, "audit", "--since", "2026-12-01T00:00:00Z", "--key-id", KEY_ID, "--resource", CRON_ID)
    assert out.exit_code == 0, out.output
    path = fake.requests[-1][1]
    assert path.startswith("/v1/auth/audit?since=2026-12-01T00%3A00%3A00Z") and f"key_id={KEY_ID}" in path
    assert f"resource={CRON_ID}" in path and "limit=20" in path
    assert KEY_ID in out.output and CRON_ID in out.output and "/v1/scheduling/cron" in out.output
    assert "--cursor abc" in out.output
    js = run(fake, "audit", "--json")
    assert '"entries"' in js.output


def test_keys_revoke(fake):
    fake.default = (200, {"key_id": KEY_ID, "revoked_at": "2026-12-08T00:00:00.000Z"}, {})
    out = run(fake, "keys", "revoke", KEY_ID)
    assert out.exit_code == 0 and KEY_ID in out.output
    assert fake.requests[-1][:2] == ("DELETE", f"/v1/auth/keys/{KEY_ID}")
