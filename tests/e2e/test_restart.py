"""`make run` stopped and started again keeps its state: the stack runs as users run it, a
subprocess (`python -m local`), with a pinned key and a state file in a temporary directory.
A graceful stop (SIGTERM) keeps projects, keys, cron jobs, queues, and held, delayed and retrying
messages, and the delayed one still arrives on time after the restart; an unclean kill
(SIGKILL) loses no more than the periodic snapshot interval."""
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from local.stack import free_port
from tests.receiver import Receiver

from .conftest import Client, _checked

ROOT = Path(__file__).resolve().parents[2]
KEY = "ifr_pk_proj_" + "R3start5urvives" * 2 + "0123456789"   # 40 letters and digits
Q, W, C = "/v1/scheduling/queue", "/v1/scheduling/webhook", "/v1/scheduling/cron"
RETRY_GAP = 8        # INFRAI_RETRY_SCHEDULE: the retrying webhook waits this long (+-20 %)
DELAY = 15           # the delayed message is due this long after it is published
ON_TIME = 2.0        # it must arrive within this long after it is due


class Stack:
    """`python -m local` in a subprocess; its output is read in a thread (a full pipe would stall it)."""

    def __init__(self, env: dict):
        self.env = env
        self.proc = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self._up = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._up.wait(60):
            self.kill()
            pytest.fail("the stack did not come up:\n" + self.output)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("Ctrl-C stops everything"):
                self._up.set()
        self._up.set()   # it exited

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def tree(self) -> list[int]:
        """The pids of the stack and everything it started (moto), from /proc."""
        parents = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, rest = stat.read_text().split(" (", 1)
                parents[int(pid)] = int(rest.rsplit(") ", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        tree, grew = {self.proc.pid}, True
        while grew:
            more = {p for p, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        return sorted(tree)

    def signal_and_wait(self, sig, timeout=30) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def assert_gone(pids: list[int], timeout=10):
    deadline = time.time() + timeout
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if alive(p)], "a process of the stack outlived it"


def epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "INFRAI_")) and k != "PORT"}
    env.update(PORT=str(free_port()), INFRAI_LOCAL_API_KEY=KEY, PYTHONUNBUFFERED="1",
               INFRAI_LOCAL_STATE=str(tmp_path / "state" / "snapshot.json"),
               INFRAI_RETRY_SCHEDULE=str(RETRY_GAP))
    return env


@pytest.fixture
def stacks():
    started: list[Stack] = []
    yield started
    for s in started:
        s.kill()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def client(env) -> Client:
    return Client(f"http://127.0.0.1:{env['PORT']}", KEY)


def put(api: Client, path: str, body: dict):
    return _checked("PUT", path, api.session.put(api.base + path, json=body, timeout=30))


def test_a_graceful_stop_and_restart_keeps_everything_and_delays_stay_on_time(env, stacks, receiver):
    first = Stack(env)
    stacks.append(first)
    api = client(env)
    me = api.get("/v1/auth/me").json()
    receiver.secret = api.get(f"{W}/secret").json()["secret"]
    job = api.post(C, {"name": "nightly", "schedule": "0 3 * * *", "timezone": "Europe/Berlin",
                       "url": receiver.url("/cron")}).json()
    assert put(api, f"{Q}/work", {"url": receiver.url("/work"), "retries": 2}).status_code == 200
    held = api.post(f"{Q}/publish", {"queue": "parked", "payload": {"kept": True}}).json()
    assert held["state"] == "held"
    delayed = api.post(f"{Q}/publish", {"queue": "work", "payload": {"late": True},
                                        "delay_seconds": DELAY}).json()
    receiver.script("/flaky", [500, 200])
    flaky = api.post(f"{W}/send", {"url": receiver.url("/flaky"), "payload": {"n": 1}}).json()["delivery_id"]
    assert api.wait_state(flaky, {"retrying"}, timeout=10)["state"] == "retrying"
    tree = first.tree()
    assert len(tree) >= 2, "the stack and its moto server"

    assert first.signal_and_wait(signal.SIGTERM) == 0, first.output
    stopped = time.time()
    assert_gone(tree)
    assert Path(env["INFRAI_LOCAL_STATE"]).is_file()
    assert "state saved" in first.output
    assert receiver.at("/work") == [], "the delayed message was not sent before the stop"
    assert len(receiver.at("/flaky")) == 1, "the retry was not made before the stop"

    second = Stack(env)
    stacks.append(second)
    restarted = time.time()
    assert "restored" in second.output
    due = epoch(delayed["deliver_at"])
    assert restarted < due - 1, "the restart was too slow for this test to show a delay kept"
    assert api.get("/v1/auth/me").json()["project_id"] == me["project_id"], "the key still works"
    again = api.get(f"{C}/{job['cron_id']}").json()
    assert again["next_run_at"] == job["next_run_at"] and again["timezone"] == "Europe/Berlin"
    assert api.get(f"{Q}/messages/{held['message_id']}").json()["state"] == "held"
    parked = api.get(f"{Q}/parked").json()
    assert parked["url"] is None and parked["counts"]["held"] == 1
    assert api.get(f"{Q}/work").json()["url"] == receiver.url("/work"), "the queue keeps its endpoint"

    [arrival] = receiver.wait_for("/work", 1, timeout=DELAY + 10)
    assert arrival.json == {"late": True} and arrival.verified
    assert due <= arrival.at <= due + ON_TIME, f"due {due:.2f}, arrived {arrival.at:.2f}"
    record = api.wait_state(flaky, {"succeeded", "failed"}, timeout=RETRY_GAP * 1.2 + 10)
    assert record["state"] == "succeeded" and record["attempt_count"] == 2
    calls = receiver.at("/flaky")
    assert len(calls) == 2 and all(c.verified for c in calls)
    assert {c.headers["webhook-id"] for c in calls} == {flaky}
    assert calls[1].at >= stopped, "the retry was made by the restarted stack"
    assert receiver.at("/cron") == []

    assert second.signal_and_wait(signal.SIGTERM) == 0, second.output


def test_an_unclean_kill_loses_at_most_the_last_periodic_snapshot(env, stacks):
    env["INFRAI_LOCAL_SNAPSHOT_SECONDS"] = "1"
    first = Stack(env)
    stacks.append(first)
    api = client(env)
    job = api.post(C, {"name": "kept", "schedule": "0 4 * * *", "url": "https://example.com/x"}).json()
    snapshot, deadline = Path(env["INFRAI_LOCAL_STATE"]), time.time() + 10
    while not (snapshot.exists() and job["cron_id"] in snapshot.read_text()) and time.time() < deadline:
        time.sleep(0.2)
    assert job["cron_id"] in snapshot.read_text(), "a periodic snapshot within the interval"
    tree = first.tree()

    first.signal_and_wait(signal.SIGKILL)
    assert_gone(tree)   # moto goes with it (PR_SET_PDEATHSIG), even without a graceful stop

    second = Stack(env)
    stacks.append(second)
    assert api.get(f"{C}/{job['cron_id']}").json()["name"] == "kept"
    assert second.signal_and_wait(signal.SIGTERM) == 0
