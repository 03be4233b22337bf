"""The seed's examples, verbatim, and their TypeScript twins, run as a user would: the local stack
as a subprocess (`python -m local`), a fresh HOME, `infra.activate()`, then each example in its
own process; what they print is checked. The stack is stopped with SIGTERM and its whole
process tree must be gone."""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TS_DIST = ROOT / "sdk" / "typescript" / "dist" / "index.js"
TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"

EXPECTED = {   # example -> the line it must print
    "cron_create": r"cron_id: cron_[0-9A-Z]{26}",
    "queue_publish": r"message_id: msg_[0-9A-Z]{26}",
    "webhook_send": r"delivery: dlv_[0-9A-Z]{26} \| state: queued",
}
LIST_LINE = rf"cron_[0-9A-Z]{{26}} 0 9 \* \* \* next: {TS}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc), so the check also covers children that left
    the process group."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("INFRAI_LOCAL_API_KEY", "INFRAI_API_KEY", "INFRAI_CREDENTIALS_FILE")
           and not k.startswith("AWS_")}
    env.update({"PORT": str(port), "PYTHONUNBUFFERED": "1"})
    env["INFRAI_LOCAL_STATE"] = str(home / "snapshot.json")   # never the developer's make-run state
    log = open(home / "stack.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"the local stack exited with {proc.returncode}:\n{log.read()[-3000:]}")
        try:
            if requests.get(base + "/v1/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.time() > deadline:
            proc.kill()
            pytest.fail("the local stack did not answer /v1/health within 60 s")
        time.sleep(0.2)
    user_env = {k: v for k, v in env.items() if k != "PORT"}
    user_env.update({"HOME": str(home), "INFRAI_BASE_URL": base})
    state = {"proc": proc, "base": base, "env": user_env, "home": home, "log": log}
    yield state
    if proc.poll() is None:   # the stop test did not run (or failed early)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    log.close()


def run(stack, *cmd, cwd=ROOT):
    done = subprocess.run(list(cmd), cwd=cwd, env=stack["env"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_activate_writes_the_credentials(stack):
    run(stack, sys.executable, "-c", "from infrai import infra; infra.activate()")
    creds = stack["home"] / ".infrai" / "credentials"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert re.search(r'"api_key": "ifr_pk_proj_[A-Za-z0-9]{32,64}"', creds.read_text())
    before = creds.read_text()
    run(stack, sys.executable, "-c", "from infrai import infra; infra.activate()")   # kept, not replaced
    assert creds.read_text() == before


def _readme_python_block(marker: str) -> str:
    """The README's fenced Python block that contains `marker` (there must be exactly one)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    found = [b for b in blocks if marker in b]
    assert len(found) == 1, f"expected one python block with {marker!r} in README.md, found {len(found)}"
    return found[0]


def test_the_readme_top_to_bottom_one_project_one_secret(stack, tmp_path):
    """A newcomer's path: the banner's key and secret, `infra.activate()` (as the README says),
    the README's receiver verifying the first delivery with the banner's secret, and no trial
    limit in the way."""
    stack["log"].flush()
    banner = (stack["home"] / "stack.log").read_text()
    key = re.search(r"API key\s+(ifr_pk_proj_[A-Za-z0-9]+)", banner).group(1)
    secret = re.search(r"secret\s+(whsec_[A-Za-z0-9+/=]+)", banner).group(1)
    readme = (ROOT / "README.md").read_text()
    activate = 'python -c "from infrai import infra; infra.activate()"'
    assert activate in readme
    run(stack, sys.executable, "-c", "from infrai import infra; infra.activate()")
    creds = json.loads((stack["home"] / ".infrai" / "credentials").read_text())
    assert creds["api_key"] == key and creds["plan"] == "unlimited", creds

    port = _free_port()
    receiver_py = tmp_path / "receiver.py"
    receiver_py.write_text(_readme_python_block("HTTPServer(").replace("9000", str(port)))
    send_py = _readme_python_block('infra.webhook.send("http://127.0.0.1:9000').replace("9000", str(port))
    out = open(tmp_path / "receiver.out", "w+")
    receiver = subprocess.Popen([sys.executable, str(receiver_py), secret], env=stack["env"], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.time() < deadline and receiver.poll() is None, "the README's receiver did not start"
            time.sleep(0.1)
        sent = run(stack, sys.executable, "-c", send_py)
        assert re.fullmatch(r"dlv_[0-9A-Z]{26} queued", sent.strip()), sent
        deadline = time.time() + 30
        while "verified:" not in (printed := (tmp_path / "receiver.out").read_text()):
            assert time.time() < deadline and receiver.poll() is None, f"no verified delivery:\n{printed}"
            time.sleep(0.2)
        assert "verified: {'hello': 'world'}" in printed, printed
    finally:
        receiver.kill()
        receiver.wait(5)
        out.close()

    # the same secret, checked by an independent implementation (standardwebhooks)
    from tests.receiver import Receiver
    independent = Receiver()
    independent.secret = secret
    try:
        run(stack, sys.executable, "-c", "from infrai import infra; "
            f"infra.webhook.send({independent.url('/hook')!r}, {{'order_id': 'ord_42'}})")
        independent.wait_for("/hook", 1, timeout=30)
        assert [a.verified for a in independent.at("/hook")] == [True]
    finally:
        independent.stop()

    # no trial limits on local work: activating again and again (a trial address gets 5 an hour)
    # gives the same project, whose plan has no per-second or daily cap
    out = run(stack, sys.executable, "-c", "from infrai import infra\n"
              "keys = {infra.activate(force=True)['api_key'] for _ in range(7)}\n"
              "me = infra.auth.me()\n"
              "print(len(keys), me['plan'], me['limits']['publishes_per_second'], me['limits']['deliveries_per_day'])")
    assert out.strip() == "1 unlimited None None", out
    assert json.loads((stack["home"] / ".infrai" / "credentials").read_text())["api_key"] == key


@pytest.mark.parametrize("name", ["cron_create", "cron_list", "queue_publish", "webhook_send"])
def test_python_example(stack, name):
    out = run(stack, sys.executable, str(EXAMPLES / f"{name}.py")).strip()
    if name == "cron_list":
        lines = out.splitlines()
        assert lines and all(re.fullmatch(LIST_LINE, line) for line in lines), out
    else:
        assert re.fullmatch(EXPECTED[name], out), out


@pytest.mark.parametrize("name", ["cron_create", "cron_list", "queue_publish", "webhook_send"])
def test_typescript_example(stack, name):
    node = shutil.which("node")
    # make test builds the SDK first; a missing build is a failure, never a silent skip
    assert node and TS_DIST.exists(), "TypeScript SDK not built: cd sdk/typescript && npm ci && npm run build"
    out = run(stack, node, str(EXAMPLES / "ts" / f"{name}.mjs")).strip()
    if name == "cron_list":
        lines = out.splitlines()
        assert len(lines) >= 2 and all(re.fullmatch(LIST_LINE, line) for line in lines), out   # Python's + TS's
    else:
        assert re.fullmatch(EXPECTED[name], out), out


def test_the_stack_stops_on_sigterm_and_leaves_no_process(stack):
    proc = stack["proc"]
    tree = _descendants(proc.pid)
    assert tree, "expected the moto server child under the local stack"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    deadline = time.time() + 10
    while any(_alive(p) for p in tree) and time.time() < deadline:
        time.sleep(0.1)
    assert not [p for p in tree if _alive(p)], "processes of the local stack outlived it"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
