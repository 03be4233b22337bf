"""Every AWS call has a bound (issue 22): against an endpoint that accepts and never answers, a
call fails with a read timeout instead of hanging a request, a batch or a reconciler run."""
import socket
import threading

import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from chalicelib.aws import clients


@pytest.fixture
def silent_endpoint(monkeypatch):
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    for k, v in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.getsockname()[1]}", "AWS_ACCESS_KEY_ID": "testing",
                 "AWS_SECRET_ACCESS_KEY": "testing", "INFRAI_AWS_READ_TIMEOUT": "0.2"}.items():
        monkeypatch.setenv(k, v)
    clients.reset()
    yield
    stop.set()
    t.join()
    for c in held:
        c.close()
    server.close()
    clients.reset()


@pytest.mark.parametrize("call", [lambda: clients.dynamodb().list_tables(),
                                  lambda: clients.sqs().list_queues(),
                                  lambda: clients.scheduler().list_schedules()], ids=["dynamodb", "sqs", "scheduler"])
def test_a_silent_endpoint_times_out(silent_endpoint, call):
    with pytest.raises((ReadTimeoutError, ConnectTimeoutError)):
        call()


def test_the_defaults_bound_every_call():
    config = clients.client("dynamodb").meta.config
    assert config.connect_timeout == clients.CONNECT_TIMEOUT and config.read_timeout == clients.READ_TIMEOUT
    assert clients.READ_TIMEOUT > 20    # an SQS long poll (WaitTimeSeconds up to 20) still fits
