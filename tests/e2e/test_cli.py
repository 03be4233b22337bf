"""The `infrai` command line (the console script the Python SDK installs), run as a user runs it:
a separate process talking HTTP to the local stack, configured like the SDK (environment, or the
credentials file `infrai activate` writes)."""
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

INFRAI = str(Path(sys.executable).with_name("infrai"))


@pytest.fixture
def cli(stack, tmp_path):
    env = {**os.environ, "INFRAI_API_KEY": stack.api_key, "INFRAI_BASE_URL": stack.base_url,
           "INFRAI_CREDENTIALS_FILE": str(tmp_path / "credentials"), "COLUMNS": "200"}

    def run(*args, ok=True, env_extra=None):
        proc = subprocess.run([INFRAI, *args], capture_output=True, text=True, timeout=120,
                              env={**env, **(env_extra or {})})
        if ok:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc
    run.env = env
    return run


def js(proc):
    return json.loads(proc.stdout)


def failed_sends(api, receiver, path, n):
    receiver.script(path, [500] * n + [200])
    ids = [api.post("/v1/scheduling/webhook/send", {"url": receiver.url(path), "payload": {"i": i},
                                                    "retries": 0}).json()["delivery_id"] for i in range(n)]
    for d in ids:
        assert api.wait_state(d, {"failed"})["state"] == "failed"
    return ids


def test_whoami_and_activate_use_the_sdks_configuration(cli, stack, tmp_path):
    me = js(cli("whoami", "--json"))
    assert me["project_id"] == stack.project_id
    out = cli("activate", "--json", env_extra={"INFRAI_API_KEY": ""})
    created = js(out)
    saved = json.loads((tmp_path / "credentials").read_text())
    # on the local stack, activate hands out the stack's own project (one project, issue 16)
    assert created["project_id"] == saved["project_id"] == stack.project_id
    assert saved["api_key"] == stack.api_key and saved["api_key"] not in out.stdout
    env = {k: v for k, v in cli.env.items() if k != "INFRAI_API_KEY"}
    proc = subprocess.run([INFRAI, "whoami", "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)["project_id"] == saved["project_id"]


def test_list_show_retry_and_bulk_replay_with_progress(cli, api, receiver, path):
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    ids = failed_sends(api, receiver, path, 3)
    listed = js(cli("deliveries", "ls", "--state", "failed", "--since", since, "--json"))
    assert [d["delivery_id"] for d in listed["items"]] == ids[::-1]
    table = cli("deliveries", "ls", "--state", "failed", "--since", since).stdout
    assert all(d in table for d in ids) and "failed" in table
    shown = js(cli("deliveries", "show", ids[0], "--json"))
    assert shown["attempts"][0]["status_code"] == 500
    retried = js(cli("deliveries", "retry", ids[0], "--json"))
    assert retried["state"] == "queued"
    assert api.wait_state(ids[0], {"succeeded"})["state"] == "succeeded"
    proc = cli("deliveries", "replay", "--since", since, "--interval", "0.2")
    assert "matched 2, queued 2" in proc.stdout and "completed" in proc.stdout
    assert "replaying" in proc.stderr or "completed" in proc.stderr     # the progress bar
    for d in ids:
        assert api.wait_state(d, {"succeeded"})["state"] == "succeeded"
    again = js(cli("deliveries", "replay", "--since", since, "--json", "--interval", "0.2"))
    assert again["finished"] and again["matched"] == 0


def test_cron_and_queue_commands(cli, api, receiver, path):
    job = api.post("/v1/scheduling/cron", {"name": "cli-job", "schedule": "0 9 * * *",
                                           "url": receiver.url(path), "payload": {}}).json()
    assert job["cron_id"] in [j["cron_id"] for j in js(cli("cron", "ls", "--json", "--limit", "100"))["items"]]
    assert js(cli("cron", "show", job["cron_id"], "--json"))["name"] == "cli-job"
    assert js(cli("cron", "pause", job["cron_id"], "--json"))["enabled"] is False
    assert js(cli("cron", "resume", job["cron_id"], "--json"))["enabled"] is True
    run = js(cli("cron", "trigger", job["cron_id"], "--json"))
    receiver.wait_for(path, 1)
    runs = js(cli("cron", "runs", job["cron_id"], "--json"))["items"]
    assert [r["delivery_id"] for r in runs] == [run["delivery_id"]]
    assert "cli-job" in cli("cron", "ls", "--limit", "100").stdout
    assert js(cli("deliveries", "ls", "--cron-id", job["cron_id"], "--json"))["items"][0]["delivery_id"] == run["delivery_id"]
    api.session.put(api.base + "/v1/scheduling/queue/cli-q", json={"url": receiver.url(path)}, timeout=30)
    assert "cli-q" in [q["name"] for q in js(cli("queues", "ls", "--json", "--limit", "100"))["items"]]
    assert js(cli("queues", "show", "cli-q", "--json"))["url"] == receiver.url(path)
    assert "cli-q" in cli("queues", "show", "cli-q").stdout


def test_tail_follows_new_deliveries_and_attempts(cli, api, receiver, path):
    receiver.script(path, [500, 200])
    tail = subprocess.Popen([INFRAI, "tail", "--json", "--host", "127.0.0.1", "--interval", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli.env)
    guard = threading.Timer(60, tail.kill)
    guard.start()
    events = []
    try:
        assert "following" in tail.stderr.readline()      # its first read done: older ones are not news
        d = api.post("/v1/scheduling/webhook/send", {"url": receiver.url(path), "payload": {}}).json()["delivery_id"]
        for line in tail.stdout:
            events.append(json.loads(line))
            if events[-1]["state"] == "succeeded":
                break
    finally:
        guard.cancel()
        tail.kill()
    assert {e["delivery_id"] for e in events} == {d}
    assert events[0]["event"] == "delivery" and all(e["event"] == "attempt" for e in events[1:])
    assert len(events) >= 2 and events[-1]["attempt_count"] == 2
    assert events[-1]["last_attempt"]["status_code"] == 200


def test_errors_are_one_line_and_exit_1(cli):
    proc = cli("deliveries", "show", "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV", ok=False)
    assert proc.returncode == 1 and "No delivery" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("deliveries", "ls", "--since", "yesterday", "--json", ok=False)
    assert proc.returncode == 1 and json.loads(proc.stdout)["error"]["code"]
