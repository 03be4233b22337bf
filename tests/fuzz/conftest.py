"""The fuzzer's world: the local stack in-process, with nothing able to leave this machine.

Three fences, because the fuzzer makes up webhook URLs and the local stack allows any target:
  1. the SQS poller (the deliver function), the Scheduler emulator and the reconciler are
     stopped right after start, so nothing accepted is ever delivered, fired or repaired;
  2. `chalicelib.sender._default_resolver` raises `socket.gaierror`: no sender DNS at all;
  3. every socket this process opens may only connect to a loopback address (the stack's HTTP
     API and its moto child); any other attempt is refused and recorded, and the run fails.

Run this directory in its own pytest process (it starts its own stack and points AWS_ENDPOINT_URL
at its own moto). Under xdist (`make test` runs it with `-n 2`) each worker is such a process,
with its own stack and its own moto: the state check still sees one writer per stack. The run
must reach FUZZ_EXAMPLES generated cases in all; the workers report their counts and the check is
made once, when the session ends (`pytest_sessionfinish` below)."""
import ipaddress
import os
import socket

import pytest

OUTBOUND_ATTEMPTS: list = []   # (family, address) of every refused connection


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):          # AF_UNIX path, netlink, ...: not the internet
        return True
    host = str(address[0]).split("%", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False                             # a host name handed to connect() directly


def _no_dns(host, port):
    raise socket.gaierror(socket.EAI_NONAME, f"DNS is disabled while fuzzing ({host!r})")


@pytest.fixture(scope="session")
def fences():
    mp = pytest.MonkeyPatch()
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self, address):
        if not _is_loopback(address):
            OUTBOUND_ATTEMPTS.append((self.family, address))
            raise ConnectionRefusedError(f"fuzz fence: no connection to {address!r} may leave this machine")
        return original_connect(self, address)

    def connect_ex(self, address):
        if not _is_loopback(address):
            OUTBOUND_ATTEMPTS.append((self.family, address))
            return 111   # ECONNREFUSED
        return original_connect_ex(self, address)

    mp.setattr(socket.socket, "connect", connect)
    mp.setattr(socket.socket, "connect_ex", connect_ex)
    from chalicelib import sender
    mp.setattr(sender, "_default_resolver", _no_dns)
    yield OUTBOUND_ATTEMPTS
    mp.undo()


@pytest.fixture(scope="session")
def fuzz_stack(fences):
    from local.stack import LocalStack
    stack = LocalStack(port=0, quiet=True).start()
    stack._poller.stop()       # nothing accepted is ever delivered ...
    stack._scheduler.stop()    # ... and no cron job ever fires
    stack.reconciler.stop()    # ... nor does the reconciler repair (its writes would look like the request's)
    yield stack
    stack.stop()


# ---------------------------------------------------------------- was the run big enough?

TALLY = pytest.StashKey[dict]()   # {"fuzzed": generated cases sent with the key, "requests": all, "by_status": {}}


def tally(config) -> dict:
    """This process's tally (the fuzz fixture adds to it as it goes)."""
    if TALLY not in config.stash:
        config.stash[TALLY] = {"fuzzed": 0, "requests": 0, "by_status": {}}
    return config.stash[TALLY]


def _add(into: dict, part: dict) -> None:
    into["fuzzed"] += part["fuzzed"]
    into["requests"] += part["requests"]
    for status, n in part["by_status"].items():
        into["by_status"][int(status)] = into["by_status"].get(int(status), 0) + n


def pytest_testnodedown(node, error):
    """xdist, in the controller: a worker ended; add its tally."""
    part = getattr(node, "workeroutput", {}).get("fuzz_tally")
    if part:
        _add(tally(node.config), part)


def _whole_run(config) -> bool:
    """The whole fuzz run was asked for (not a -k, -m or a node id picked out of it)."""
    return not (config.option.keyword or config.option.markexpr or any("::" in a for a in config.args))


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    mine = tally(config)
    if hasattr(config, "workeroutput"):      # an xdist worker: the controller adds them up
        config.workeroutput["fuzz_tally"] = mine
        return
    # the whole fuzzing was asked for: this directory or the schemathesis file, nothing picked out
    required = _whole_run(config) and any(a.rstrip("/").endswith(("tests/fuzz", "test_schemathesis.py"))
                                          for a in config.args)
    if not (mine["requests"] or required):
        return
    total = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
    line = (f"fuzz: {mine['fuzzed']} generated cases with the key, {mine['requests']} requests in all; "
            f"by status: {dict(sorted(mine['by_status'].items()))}")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.ensure_newline()
        reporter.write_line(line)
    if exitstatus == 0 and required and mine["fuzzed"] < total:
        message = (f"FAILED: only {mine['fuzzed']} generated cases ran (FUZZ_EXAMPLES={total}): the fuzzing "
                   "must reach it")
        if reporter:
            reporter.write_line(message, red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
