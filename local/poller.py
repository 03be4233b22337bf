"""What Lambda's SQS event source does for the deliver function, done locally: long-poll the
dispatch queue, hand batches of up to 10 to the very same handler as a Lambda SQS event, and,
as with `ReportBatchItemFailures`, delete the batch's messages except those the handler names in
`batchItemFailures`, which come back for redelivery after `retry_visibility`; if the handler
raises, all of them do.

**Fair queues.** On AWS the dispatch queue is a standard queue whose messages carry their project
as MessageGroupId (chalicelib/aws/dispatch.py `group_of`): when one group holds a disproportionate
share of the messages in flight, SQS returns the quiet groups' messages first. moto keeps the
MessageGroupId but receives in plain order, so the poller does the choosing itself:

- one thread receives (moto's ReceiveMessage is not safe to call concurrently: two callers can
  get the same message), batch after batch of 10 while the queue has any, into an in-memory
  *reservoir* of at most `reservoir` messages (INFRAI_LOCAL_POLLER_RESERVOIR, default 1,000),
  even while every worker is busy: that is how a quiet project's message behind a flood is seen
  (once the queue yields fewer than 10 while messages are held, it looks again after 0.25 s);
- the messages are held invisible with the queue's own visibility timeout, and a held message's
  visibility is extended (ChangeMessageVisibilityBatch) when half of it has run out;
- another thread hands batches to up to `workers` concurrent handler calls (as Lambda runs
  concurrent instances), filling each batch one message at a time, round-robin across groups, the
  group with the fewest messages in flight (handed out and not yet finished, this batch's
  included) first; messages without a group form a group of their own;
- a message that waited in the reservoir gets the queue's full visibility again when it is handed
  out, so the handler sees what a Lambda receive gives it;
- with a `batch_window` (INFRAI_LOCAL_BATCH_WINDOW seconds, default 0: hand out at once), a batch
  of fewer than `batch_size` waits until its oldest message has waited that long, as the deployed
  event source's `maximum_batching_window_in_seconds` does (`BENCH=scale` runs with the deployed
  value, so its per-delivery request counts are those of full batches at volume);
- `stop()` gives back what the reservoir still holds (visibility 0).

Extending and handing out happen on the same thread, so a held message's visibility is never
changed once the handler has it (the handler fits its own leases)."""
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor

from chalicelib.aws import clients

log = logging.getLogger("infrai.local.poller")

RETRY_VISIBILITY = 2   # Lambda waits out the visibility timeout; locally we retry sooner
RESERVOIR = 1000       # messages held at most, waiting for a worker
TRICKLE_PAUSE = 0.25   # s between receives while the queue yields fewer than 10 and messages are held
RESET_AFTER = 60       # s in the reservoir after which a handed-out message gets its full visibility again


def reservoir_size() -> int:
    return int(os.environ.get("INFRAI_LOCAL_POLLER_RESERVOIR") or RESERVOIR)


def batch_window() -> float:
    return float(os.environ.get("INFRAI_LOCAL_BATCH_WINDOW") or 0)


class _Held:
    __slots__ = ("msg", "group", "received", "until")

    def __init__(self, msg, group, received, until):
        self.msg, self.group, self.received, self.until = msg, group, received, until


class Poller:
    def __init__(self, handler, queue_url: str, queue_arn: str, *, workers=4, batch_size=10,
                 wait_seconds=1, retry_visibility=RETRY_VISIBILITY, reservoir=None, hold_seconds=None,
                 batch_window_seconds=None):
        """`hold_seconds`: how long a received message stays invisible (default: the queue's
        VisibilityTimeout, read at start)."""
        self.handler, self.queue_url, self.queue_arn = handler, queue_url, queue_arn
        self.workers, self.batch_size, self.wait_seconds = workers, batch_size, wait_seconds
        self.retry_visibility = retry_visibility
        self.reservoir = reservoir or reservoir_size()
        self.hold = hold_seconds
        self.batch_window = batch_window() if batch_window_seconds is None else batch_window_seconds
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._groups: "OrderedDict[str | None, OrderedDict[str, _Held]]" = OrderedDict()  # round-robin order
        self._held = 0
        self._in_flight: dict = {}          # group -> messages handed out and not finished
        self._free = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver-batch")
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self.batches = 0
        self.failures = 0
        self.handed_out: deque = deque(maxlen=100_000)   # (time, group) of the messages handed out, newest last
        self.extended = 0                                     # visibility extensions of held messages
        self.given_back = 0

    # -- life cycle ---------------------------------------------------------------------------
    def start(self):
        if self.hold is None:
            try:
                attrs = clients.sqs().get_queue_attributes(QueueUrl=self.queue_url,
                                                           AttributeNames=["VisibilityTimeout"])
                self.hold = int(attrs["Attributes"]["VisibilityTimeout"])
            except Exception:  # noqa: BLE001 - SQS's default
                log.warning("could not read the queue's visibility timeout", exc_info=True)
                self.hold = 30
        for target, name in ((self._receive_loop, "sqs-poller"), (self._dispatch_loop, "sqs-dispatch")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout=10):
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout)
        self._give_back()
        self._pool.shutdown(wait=True)

    def holding(self) -> int:
        with self._cond:
            return self._held

    # -- receiving: the only thread that calls ReceiveMessage ----------------------------------
    def _receive_loop(self):
        sqs = clients.sqs()
        while not self._stop.is_set():
            with self._cond:
                room = self.reservoir - self._held
                if room <= 0:
                    self._cond.wait(0.5)
                    continue
            try:
                msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, room),
                                           WaitTimeSeconds=self.wait_seconds,
                                           VisibilityTimeout=self.hold,
                                           AttributeNames=["All"]).get("Messages", [])
            except Exception:  # noqa: BLE001 - moto stopping, or a blip: try again
                msgs = []
                if not self._stop.wait(0.5):
                    log.exception("receive failed")
            if msgs:
                self._keep(msgs)
            if len(msgs) < 10 and self.holding():
                # the queue is drained and workers have messages waiting: look again soon, not in
                # a tight loop (moto serves a publish meanwhile, and each receive scans the queue)
                self._stop.wait(TRICKLE_PAUSE)

    def _keep(self, msgs):
        now = time.monotonic()
        with self._cond:
            for m in msgs:
                group = m.get("Attributes", {}).get("MessageGroupId")
                queue = self._groups.setdefault(group, OrderedDict())
                if m["MessageId"] not in queue:
                    self._held += 1
                # received again (its visibility ran out): the newest receipt handle is the one
                queue[m["MessageId"]] = _Held(m, group, now, now + self.hold)
            self._cond.notify_all()

    # -- handing out and extending: one thread -------------------------------------------------
    def _dispatch_loop(self):
        next_check = time.monotonic() + self.hold / 4
        while not self._stop.is_set():
            batch = None
            with self._cond:
                gather = self._gathering() if self._free and self._held else 0
                if self._free and self._held and not self._stop.is_set() and gather <= 0:
                    batch = self._pick()
                    self._free -= 1
                elif gather > 0:
                    self._cond.wait(min(gather, 1.0))
                else:
                    self._cond.wait(min(1.0, max(0.0, next_check - time.monotonic())) or 0.01)
            if batch:
                self._pool.submit(self._run_and_release, batch)
            if time.monotonic() >= next_check:
                self._extend()
                next_check = time.monotonic() + min(self.hold / 4, 30)

    def _gathering(self) -> float:
        """Seconds the next batch still waits for more messages (0: hand it out now)."""
        if not self.batch_window or self._held >= self.batch_size:
            return 0
        oldest = min(next(iter(q.values())).received for q in self._groups.values() if q)
        return oldest + self.batch_window - time.monotonic()

    def _pick(self) -> list[_Held]:
        """Up to batch_size messages, one at a time: from the group with the fewest in flight
        (this batch's included), ties in round-robin order; a group served goes to the back."""
        batch = []
        while len(batch) < self.batch_size and self._held:
            group = min(self._groups, key=lambda g: self._in_flight.get(g, 0))
            queue = self._groups.pop(group)
            _, held = queue.popitem(last=False)
            if queue:
                self._groups[group] = queue     # to the back of the round
            self._held -= 1
            self._in_flight[group] = self._in_flight.get(group, 0) + 1
            batch.append(held)
            self.handed_out.append((time.time(), group))
        return batch

    def _extend(self):
        """Held messages with less than half their visibility left get all of it again."""
        now = time.monotonic()
        with self._cond:
            due = [h for q in self._groups.values() for h in q.values() if h.until - now < self.hold / 2]
        for start in range(0, len(due), 10):
            chunk = due[start:start + 10]
            try:
                resp = clients.sqs().change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": h.msg["ReceiptHandle"], "VisibilityTimeout": self.hold}
                    for i, h in enumerate(chunk)])
            except Exception:  # noqa: BLE001 - they come back visible and are received again
                log.exception("could not extend the visibility of %d held messages", len(chunk))
                continue
            ok = {int(e["Id"]) for e in resp.get("Successful", [])}
            with self._cond:
                for i in ok:
                    chunk[i].until = now + self.hold
                self.extended += len(ok)
            if resp.get("Failed"):
                log.warning("could not extend %d held messages: %s", len(resp["Failed"]), resp["Failed"][0])

    def _give_back(self):
        with self._cond:
            held = [h for q in self._groups.values() for h in q.values()]
            self._groups.clear()
            self._held = 0
        for start in range(0, len(held), 10):
            try:
                clients.sqs().change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": h.msg["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, h in enumerate(held[start:start + 10])])
                self.given_back += len(held[start:start + 10])
            except Exception:  # noqa: BLE001 - they come back when their visibility runs out
                log.warning("could not give back held messages", exc_info=True)

    # -- running a batch -----------------------------------------------------------------------
    def _run_and_release(self, batch: list[_Held]):
        try:
            waited = [h for h in batch if time.monotonic() - h.received > min(RESET_AFTER, self.hold / 4)]
            if waited:
                self._visibility([h.msg for h in waited], self.hold)
            self.run_batch([h.msg for h in batch])
        finally:
            with self._cond:
                self._free += 1
                for h in batch:
                    self._in_flight[h.group] -= 1
                    if not self._in_flight[h.group]:
                        del self._in_flight[h.group]
                self._cond.notify_all()

    def run_batch(self, msgs):
        event = {"Records": [self._record(m) for m in msgs]}
        try:
            result = self.handler(event, _Context())
            failed_ids = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - the batch comes back, as on Lambda
            log.exception("deliver handler raised; %d messages will be redelivered", len(msgs))
            failed_ids = {m["MessageId"] for m in msgs}
        failed = [m for m in msgs if m["MessageId"] in failed_ids]
        if failed:
            self.failures += 1
            self._come_back(failed)
        else:
            self.batches += 1
        done = [m for m in msgs if m["MessageId"] not in failed_ids]
        if done:
            clients.sqs().delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])

    def _come_back(self, msgs):
        self._visibility(msgs, self.retry_visibility)

    def _visibility(self, msgs, seconds):
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": seconds}
                   for i, m in enumerate(msgs)]
        try:
            clients.sqs().change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
        except Exception:  # noqa: BLE001
            log.exception("could not change visibility to %s s", seconds)

    def _record(self, m):
        return {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": m.get("Attributes", {}), "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody"), "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn, "awsRegion": "us-east-1"}


class _Context:
    """The bits of a Lambda context the handler may read."""
    function_name = "infrai-scheduling-local-deliver"
    memory_limit_in_mb = 512
    aws_request_id = ""

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self):
        return 360_000
