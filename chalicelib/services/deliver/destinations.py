"""An attempt to a subscription's AWS destination (an SQS queue or an EventBridge bus,
core/destinations.py) instead of an HTTP POST: the same body, signed with the same signer and
carrying the same webhook-* and infrai-* values as the HTTP request would (as SQS message
attributes, or in the EventBridge event's detail), recorded, retried, dead-lettered and
replayed exactly as an HTTP attempt is (deliver/attempts.py)."""
from ...aws import destinations as aws_destinations
from ...core import clock, signing, traces
from ..delivery import deliveries, payloads


def of(record: dict, queues: dict) -> dict | None:
    """The destination a delivery goes to (its subscription's), or None: it goes to a URL."""
    if not record["kind"].startswith("queue:"):
        return None
    queue = queues.get((record["project_id"], record["source"]["queue"]))
    return (queue or {}).get("destination")


def send(record: dict, destination: dict, n: int, signer: signing.Signer):
    """One attempt: the payload with the headers an HTTP receiver would get (no content-type,
    user-agent: they describe HTTP), signed over the body as it is sent."""
    body = payloads.text(record)
    headers = signing.signed_headers(signer, record["delivery_id"], int(clock.now()), body.encode())
    headers.update(deliveries.meta_headers(record))
    headers["infrai-attempt"] = str(n)
    headers.update(traces.attempt_headers(record, n))
    source = record.get("source") or {}
    return aws_destinations.send(destination, body, headers, source.get("subscription_id") or record["delivery_id"],
                                 source.get("topic"), source.get("event_type"))
