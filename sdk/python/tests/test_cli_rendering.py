"""The CLI prints API values as plain text and never cuts an id (issue 24, item 6): hostile
values from a receiver or a user ([/], [link=…], [bold red]…) show literally and crash nothing;
a narrow terminal leaves columns out instead of truncating ids."""
import io
import json

from click.testing import CliRunner
from rich.console import Console

from infrai import cli

KEY = "ifr_pk_proj_" + "a" * 40
HOSTILE = ["[/]", "[link=https://evil.example]click[/link]", "[bold red]x", ":thumbs_up:", "\\[/]"]
DLV = "dlv_01JF3Z9K8QW4M2X7N5B6C1D0EA"      # 30 characters, as the API makes them
CRON = "cron_01M9ZQ4K8QW4M2X7N5B6C1D0EA"     # 31
assert len(DLV) == 30


def run(fake, *args, columns=200):
    return CliRunner().invoke(cli.main, ["--api-key", KEY, "--base-url", fake.url, *args],
                              env={"COLUMNS": str(columns)})


def delivery(i=0, value="[/]"):
    return {"delivery_id": DLV, "kind": "webhook", "state": "failed", "url": f"https://x.example.com/{value}",
            "host": value, "status_code": 500, "attempt_count": 1, "created_at": "2026-12-08T00:00:00Z",
            "queue": None, "cron_id": None, "last_attempt": {"status_code": None, "error": value},
            "attempts": [{"attempt": 1, "at": "2026-12-08T00:00:01Z", "status_code": 500, "duration_ms": 12,
                          "error": f"HTTP 500 {value}"}]}


def render(renderable, width=200, terminal=False):
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=terminal, color_system="truecolor" if terminal else None).print(
        renderable)
    return out.getvalue()


def test_hostile_values_render_literally_in_every_view():
    for value in HOSTILE:
        d = delivery(value=value)
        for renderable in (cli.kv_table(d, d["delivery_id"]), cli.attempts_table(d["attempts"], width=200)[0],
                           cli.deliveries_table([d], width=200)[0], cli.tail_line(d, "00:00:00"),
                           cli.kv_table({"name": value, "url": value}, value)):
            out = render(renderable)
            assert value in out, (value, out)
            styled = render(renderable, terminal=True)
            assert "\x1b]8;" not in styled                       # no hyperlink made from a value
            assert "\x1b[1;31mx" not in styled                   # no bold red from a value


def test_hostile_values_through_the_commands(fake):
    for value in HOSTILE:
        d = delivery(value=value)
        fake.default = (200, d, {})
        out = run(fake, "deliveries", "show", DLV)
        assert out.exit_code == 0, out.output
        assert f"HTTP 500 {value}" in out.output and value in out.output
        fake.default = (200, {"items": [d], "next_cursor": None}, {})
        out = run(fake, "deliveries", "ls")
        assert out.exit_code == 0 and value in out.output, out.output
        out = run(fake, "tail", "--from-recent", "--count", "1", "--interval", "0")
        assert out.exit_code == 0, out.output
        assert value in out.output and DLV in out.output
        fake.default = (200, {"items": [{"cron_id": CRON, "name": value, "schedule": "0 9 * * *", "timezone": "UTC",
                                         "url": value, "enabled": True, "next_run_at": None}], "next_cursor": None}, {})
        out = run(fake, "cron", "ls")
        assert out.exit_code == 0 and value in out.output, out.output
        fake.default = (200, {"items": [{"name": value, "url": None, "counts": {}}], "next_cursor": None}, {})
        out = run(fake, "queues", "ls")
        assert out.exit_code == 0 and value in out.output, out.output


def test_an_error_message_from_the_api_is_shown_literally(fake):
    fake.default = (409, {"error": {"code": "conflict", "message": "state is [/] [link=https://evil.example]x[/link]",
                                    "field": None}}, {})
    out = run(fake, "deliveries", "cancel", DLV)
    assert out.exit_code == 1
    assert "state is [/] [link=https://evil.example]x[/link]" in out.output


def test_ids_are_never_cut_at_a_narrow_width():
    items = [delivery(value="a-rather-long-host-name.example.com")] * 3
    table, _, hidden = cli.deliveries_table(items, width=60)
    out = render(table, width=60)
    assert DLV in out and "…" not in out
    assert hidden > 0 and max(len(line) for line in out.splitlines()) <= 60
    crons = [{"cron_id": CRON, "name": "nightly report for the finance team", "schedule": "0 9 * * *",
              "timezone": "Europe/Amsterdam", "url": "https://x.example.com/hooks/report", "enabled": False,
              "next_run_at": "2026-12-08T09:00:00Z"}]
    out = render(cli.cron_table(crons, width=40)[0], width=40)
    assert CRON in out and "…" not in out
    wide, needed, hidden = cli.deliveries_table(items, wide=True, width=60)
    assert hidden == 0 and needed > 60
    out = render(wide, width=needed)
    assert all(h in out for h in ("host", "created", "attempts")) and DLV in out


def test_narrow_terminal_wide_and_json_output(fake):
    d = delivery(value="host.example.com")
    fake.default = (200, {"items": [d], "next_cursor": None}, {})
    out = run(fake, "deliveries", "ls", columns=60)
    assert out.exit_code == 0 and DLV in out.output and "-o wide" in out.output
    out = run(fake, "deliveries", "ls", "-o", "wide", columns=60)
    assert out.exit_code == 0 and DLV in out.output and "created" in out.output and "host.example.com" in out.output
    out = run(fake, "deliveries", "ls", "-o", "json", columns=60)
    assert json.loads(out.output)["items"][0]["delivery_id"] == DLV
    for args in (["deliveries", "show", DLV], ["cron", "ls"], ["queues", "ls"], ["cron", "runs", CRON],
                 ["cron", "show", CRON], ["queues", "show", "q"], ["deliveries", "cancel", DLV]):
        fake.default = (200, {"items": [], "next_cursor": None}, {})
        out = run(fake, *args, "--json")
        assert out.exit_code == 0, (args, out.output)
        json.loads(out.output)


def test_cancel_command_posts_to_the_cancel_route(fake):
    fake.default = (200, {**delivery(), "state": "cancelled", "attempt_count": 0, "attempts": []}, {})
    out = run(fake, "deliveries", "cancel", DLV)
    assert out.exit_code == 0 and DLV in out.output and "cancelled" in out.output
    assert fake.requests[-1][:2] == ("POST", f"/v1/scheduling/webhook/deliveries/{DLV}/cancel")


def test_credentials_show_as_the_api_masks_them(fake):
    d = {**delivery(), "headers": {"Authorization": "••••1234", "X-Note": "plain"},
         "auth": {"type": "oauth2_client_credentials", "token_url": "https://auth.example.com/token", "client_id": "id"}}
    fake.default = (200, d, {})
    out = run(fake, "deliveries", "show", DLV)
    assert out.exit_code == 0, out.output
    assert "••••1234" in out.output and "oauth2_client_credentials" in out.output and "plain" in out.output
