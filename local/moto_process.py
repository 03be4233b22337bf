"""moto server in a child process: the embedded AWS gets its own core and GIL (in-process it
competed with the API and the deliver handler for one interpreter), and it dies with us."""
import ctypes
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

PR_SET_PDEATHSIG = 1
ROOT = pathlib.Path(__file__).resolve().parent.parent   # where `local` is importable from


def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: Ctrl-C and SIGTERM still stop it through stop()


class MotoProcess:
    def __init__(self, port: int):
        self.port = port
        self.proc = None

    def start(self, timeout=30):
        # moto's server, its DynamoDB writes made atomic (local/moto_atomic.py). Its own session:
        # Ctrl-C in a terminal signals the whole foreground process group, and moto must outlive
        # the stack's final save; stop() ends it after that (and it dies with us regardless).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local.moto_atomic", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
            start_new_session=True, cwd=ROOT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/moto-api/", timeout=1)
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start in time")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
