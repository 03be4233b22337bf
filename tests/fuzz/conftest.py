"""The fuzzer's world: the local stack in-process, with nothing able to leave this machine.

Three fences, because the fuzzer makes up webhook URLs and the local stack allows any target:
  1. the SQS poller (the deliver function), the Scheduler emulator and the reconciler are
     stopped right after start, so nothing accepted is ever delivered, fired or repaired;
  2. `chalicelib.sender._default_resolver` raises `socket.gaierror`: no sender DNS at all;
  3. every socket this process opens may only connect to a loopback address (the stack's HTTP
     API and its moto child); any other attempt is refused and recorded, and the run fails.

Run this directory in its own pytest process (it starts its own stack and points AWS_ENDPOINT_URL
at its own moto), without xdist: the state check needs one writer."""
import ipaddress
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
