"""What the EventBridge rule does for the `reconcile` function on AWS, done locally: call the
very same handler every `every` seconds (INFRAI_RECONCILE_SECONDS, default core/due.py's 60 s,
the rule's rate), as a scheduled event. A failing run is logged; the next one tries again."""
import logging
import os
import threading
import time
import uuid

from chalicelib.core import due

log = logging.getLogger("infrai.local.reconcile")


def interval() -> float:
    return float(os.environ.get("INFRAI_RECONCILE_SECONDS", due.RECONCILE_EVERY))


class ReconcileTimer:
    def __init__(self, handler, every: float | None = None):
        self.handler, self.every = handler, interval() if every is None else every
        self._stop = threading.Event()
        self._thread = None
        self.runs = 0
        self.last: dict = {}

    def start(self) -> "ReconcileTimer":
        self._thread = threading.Thread(target=self._loop, name="reconcile", daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.every):
            self.run_once()

    def run_once(self) -> dict:
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": "123456789012", "region": "us-east-1",
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "resources": ["arn:aws:events:us-east-1:123456789012:rule/infrai-local-reconcile"],
                 "detail": {}}
        try:
            self.last = self.handler(event, None) or {}
            self.runs += 1
        except Exception:  # noqa: BLE001 - moto busy or stopping: the next run tries again
            if not self._stop.is_set():
                log.exception("reconcile run failed")
        return self.last

    def stop(self, timeout=30):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
