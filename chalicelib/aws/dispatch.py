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


def enqueue(work: dict, wait_seconds: float = 0.0) -> None:
    clients.sqs().send_message(QueueUrl=dispatch_queue_url(), MessageBody=json.dumps(work),
                               DelaySeconds=hop_delay(wait_seconds))


def enqueue_many(works: list[tuple[dict, float]]) -> None:
    """Up to 10 per SQS request; raises if any entry failed, after sending the rest."""
    failed = []
    for start in range(0, len(works), 10):
        chunk = works[start:start + 10]
        entries = [{"Id": str(i), "MessageBody": json.dumps(w), "DelaySeconds": hop_delay(s)}
                   for i, (w, s) in enumerate(chunk)]
        resp = clients.sqs().send_message_batch(QueueUrl=dispatch_queue_url(), Entries=entries)
        failed += resp.get("Failed", [])
    if failed:
        raise RuntimeError(f"SQS refused {len(failed)} messages: {failed[0].get('Message')}")


def dead_letter(record: dict) -> None:
    clients.sqs().send_message(QueueUrl=dead_letter_queue_url(), MessageBody=json.dumps(record))


def reset() -> None:
    _queue_url.cache_clear()
