"""What Lambda's SQS event source does for the deliver function, done locally: long-poll the
dispatch queue, hand batches of up to 10 to the very same handler as a Lambda SQS event, and,
as with `ReportBatchItemFailures`, delete the batch's messages except those the handler names in
`batchItemFailures`, which come back for redelivery; if the handler raises, all of them do.

One thread receives (moto's ReceiveMessage is not safe to call concurrently: two callers can get
the same message) and up to `workers` batches run at once, as Lambda runs concurrent instances."""
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from chalicelib.aws import clients

log = logging.getLogger("infrai.local.poller")

RETRY_VISIBILITY = 2   # Lambda waits out the visibility timeout; locally we retry sooner


class Poller:
    def __init__(self, handler, queue_url: str, queue_arn: str, *, workers=4, batch_size=10,
                 wait_seconds=1, retry_visibility=RETRY_VISIBILITY):
        self.handler, self.queue_url, self.queue_arn = handler, queue_url, queue_arn
        self.workers, self.batch_size, self.wait_seconds = workers, batch_size, wait_seconds
        self.retry_visibility = retry_visibility
        self._stop = threading.Event()
        self._slots = threading.Semaphore(workers)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver-batch")
        self._threads: list[threading.Thread] = []
        self.batches = 0
        self.failures = 0

    def start(self):
        t = threading.Thread(target=self._loop, name="sqs-poller", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self, timeout=10):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._pool.shutdown(wait=True)

    def _loop(self):
        sqs = clients.sqs()
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue   # every worker busy: do not take messages nobody can work on yet
            try:
                msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
                                           WaitTimeSeconds=self.wait_seconds,
                                           AttributeNames=["All"]).get("Messages", [])
            except Exception:  # noqa: BLE001 - moto stopping, or a blip: try again
                msgs = []
                if not self._stop.wait(0.5):
                    log.exception("receive failed")
            if msgs:
                self._pool.submit(self._run_and_release, msgs)
            else:
                self._slots.release()

    def _run_and_release(self, msgs):
        try:
            self.run_batch(msgs)
        finally:
            self._slots.release()

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
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"],
                    "VisibilityTimeout": self.retry_visibility} for i, m in enumerate(msgs)]
        try:
            clients.sqs().change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)
        except Exception:  # noqa: BLE001
            log.exception("could not shorten visibility")

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
