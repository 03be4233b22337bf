"""Ctrl-C in a terminal signals the whole foreground process group, not just the stack: moto
(a child process) must not die with the stack's first SIGINT, or the final save finds no AWS to
read and the state promised to survive a graceful stop is lost (issue 12)."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .test_restart import ROOT, Stack, assert_gone, client, env  # noqa: F401 - env is a fixture

C = "/v1/scheduling/cron"


class TerminalStack(Stack):
    """The stack as a terminal runs it: the leader of its own process group."""

    def __init__(self, env: dict):
        self.env = env
        self.proc = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.lines: list[str] = []
        self._up = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._up.wait(60), "the stack did not come up:\n" + self.output


def test_ctrl_c_to_the_process_group_saves_the_state(env):
    env["INFRAI_LOCAL_SNAPSHOT_SECONDS"] = "0"       # only the save on stop can keep the job
    stack = TerminalStack(env)
    try:
        job = client(env).post(C, {"name": "kept", "schedule": "0 4 * * *", "url": "https://example.com/x"}).json()
        tree = stack.tree()
        os.killpg(stack.proc.pid, signal.SIGINT)     # what Ctrl-C does
        assert stack.proc.wait(60) == 0, stack.output
        time.sleep(0.2)
        assert "could not save the state" not in stack.output, stack.output
        assert job["cron_id"] in Path(env["INFRAI_LOCAL_STATE"]).read_text(), "the job is in the saved state"
        assert_gone(tree)
    finally:
        stack.kill()
