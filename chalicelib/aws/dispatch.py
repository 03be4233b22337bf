"""The SQS adapter: work for the deliver function goes on the dispatch queue; deliveries whose
retries ran out, and messages nobody can read, go to the dead-letter queue."""
import functools
import json
import math

from .. import config
from . import clients

MAX_SQS_DELAY = 900   # SQS's own ceiling for DelaySeconds


@functools.lru_cache(maxsize=8)
def _queue_url(name: str) -> str:
    return clients.sqs().get_queue_url(QueueName=name)["QueueUrl"]


def dispatch_queue_url() -> str:
    return _queue_url(config.dispatch_queue_name())


def dead_letter_queue_url() -> str:
    return _queue_url(config.dead_letter_queue_name())


def hop_delay(wait_seconds: float) -> int:
    """SQS delay for a wait: whole seconds, rounded up so a message is never early, and at most
    SQS's 900 s; longer waits take several hops (the handler re-enqueues until it is time)."""
    return max(0, min(MAX_SQS_DELAY, math.ceil(wait_seconds)))


def group_of(message: dict) -> dict:
    """SQS fair queues: a message that names its project (`p`, in work or in a task) carries it
    as its MessageGroupId on the standard dispatch queue, so that when one project holds more than
    its share of messages in flight, SQS hands out the quiet projects' messages first. Ordering
    and at-least-once stay as on any standard queue."""
    task = next((v for v in message.values() if isinstance(v, dict) and "p" in v), {})
    group = message.get("p") or task.get("p")
    return {"MessageGroupId": str(group)} if group else {}


def enqueue(work: dict, wait_seconds: float = 0.0) -> None:
    clients.sqs().send_message(QueueUrl=dispatch_queue_url(), MessageBody=json.dumps(work),
                               DelaySeconds=hop_delay(wait_seconds), **group_of(work))


def enqueue_many(works: list[tuple[dict, float]]) -> None:
    """Up to 10 per SQS request; raises if any entry failed, after sending the rest."""
    failed = []
    for start in range(0, len(works), 10):
        chunk = works[start:start + 10]
        entries = [{"Id": str(i), "MessageBody": json.dumps(w), "DelaySeconds": hop_delay(s), **group_of(w)}
                   for i, (w, s) in enumerate(chunk)]
        resp = clients.sqs().send_message_batch(QueueUrl=dispatch_queue_url(), Entries=entries)
        failed += resp.get("Failed", [])
    if failed:
        raise RuntimeError(f"SQS refused {len(failed)} messages: {failed[0].get('Message')}")


def lease(receipts: list[str], seconds: float) -> None:
    """Keep these received messages invisible for `seconds` from now (at most SQS's 12 h)."""
    seconds = max(0, min(43200, math.ceil(seconds)))
    for start in range(0, len(receipts), 10):
        clients.sqs().change_message_visibility_batch(QueueUrl=dispatch_queue_url(), Entries=[
            {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": seconds}
            for i, r in enumerate(receipts[start:start + 10])])


def dead_letter(record: dict) -> None:
    clients.sqs().send_message(QueueUrl=dead_letter_queue_url(), MessageBody=json.dumps(record))


def dead_letters(visibility: int = 60) -> list[dict]:
    """Up to 10 messages of the dead-letter queue, hidden for `visibility` s while they are looked at."""
    return clients.sqs().receive_message(QueueUrl=dead_letter_queue_url(), MaxNumberOfMessages=10,
                                         VisibilityTimeout=visibility).get("Messages", [])


def forget_dead_letter(receipt: str) -> None:
    clients.sqs().delete_message(QueueUrl=dead_letter_queue_url(), ReceiptHandle=receipt)


def return_dead_letters(receipts: list[str]) -> None:
    """Visible again at once, for whoever reads the dead-letter queue next."""
    clients.sqs().change_message_visibility_batch(QueueUrl=dead_letter_queue_url(), Entries=[
        {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0} for i, r in enumerate(receipts)])


def reset() -> None:
    _queue_url.cache_clear()
