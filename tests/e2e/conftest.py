"""End-to-end: the local stack (moto server, HTTP API, SQS poller) started by the suite, a real
receiver on 127.0.0.1 verifying signatures with the `standardwebhooks` package."""
import os
import time

import pytest
import requests

from tests import schema_check
from tests.receiver import Receiver

FAST_RETRIES = "1,1,1,1"   # seconds between retries, so retry tests take seconds, not hours


@pytest.fixture(scope="session")
def stack():
    os.environ["INFRAI_RETRY_SCHEDULE"] = FAST_RETRIES
    from local.stack import LocalStack
    s = LocalStack(port=0, quiet=True).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def receiver(stack):
    from chalicelib.services.tenancy import projects
    r = Receiver()
    r.secret = projects.current_secret(stack.project_id)
    yield r
    r.stop()


def _checked(method, path, resp):
    """Every response the e2e tests see must match its schema in chalicelib/openapi.json."""
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = resp.text
    schema_check.check(method, path, resp.status_code, body)
    return resp


class Client:
    def __init__(self, base_url, api_key):
        self.base, self.session = base_url, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def post(self, path, body=None, **kw):
        return _checked("POST", path, self.session.post(self.base + path, json=body, timeout=30, **kw))

    def get(self, path, **kw):
        return _checked("GET", path, self.session.get(self.base + path, timeout=30, **kw))

    def put(self, path, body=None, **kw):
        return _checked("PUT", path, self.session.put(self.base + path, json=body, timeout=30, **kw))

    def delete(self, path, **kw):
        return _checked("DELETE", path, self.session.delete(self.base + path, timeout=30, **kw))

    def wait_state(self, delivery_id, states, timeout=30, path="/v1/scheduling/webhook/deliveries/"):
        deadline = time.time() + timeout
        while True:
            record = self.get(path + delivery_id).json()
            if record["state"] in states or time.time() > deadline:
                return record
            time.sleep(0.2)


@pytest.fixture(scope="session")
def api(stack):
    return Client(stack.base_url, stack.api_key)


@pytest.fixture
def path(request):
    """A receiver path of this test's own, so tests never see each other's arrivals."""
    return "/" + request.node.name.replace("[", "_").replace("]", "")
