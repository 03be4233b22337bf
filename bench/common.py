"""Shared bench plumbing: a local stack with a receiver, percentiles, and printing."""
import base64
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Benches that make projects outside the local stack (in-process moto) seal their secrets too
# (core/at_rest.py): a key of their own for the run, as the local stack keeps one beside its state.
os.environ.setdefault("INFRAI_SEAL_KEY", base64.b64encode(os.urandom(32)).decode())


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def median(values):
    return statistics.median(values)


def start_stack(retry_schedule="1"):
    os.environ["INFRAI_RETRY_SCHEDULE"] = retry_schedule
    from local.stack import LocalStack
    from tests.receiver import Receiver
    from chalicelib.services.tenancy import projects
    stack = LocalStack(port=0, quiet=True).start()
    receiver = Receiver()
    receiver.secret = projects.current_secret(stack.project_id)
    return stack, receiver


def http(stack):
    import requests
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {stack.api_key}"
    return s


def wait_until(pred, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def report(title, rows):
    print(f"\n== {title}")
    for k, v in rows:
        print(f"  {k:<58} {v}")
