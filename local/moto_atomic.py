"""A stand-in for what moto lacks: DynamoDB's atomic writes. moto evaluates a write's condition,
then applies it, with nothing between them held; its threaded server runs requests at once, so
two conditional writes could both pass. A transaction even copies whole tables to roll back
(while a read may add to them: a missing key in moto's item maps is created on lookup), and a
cancelled one restores that copy, undoing other requests' writes made meanwhile. On AWS each
write is atomic and transactions are isolated: running moto's DynamoDB requests one at a time
gives the same outcome, so plan limits (conditional counters, transactions) behave locally as
they do on AWS. Other services (SQS's long polls) are not affected.

`python -m local.moto_atomic -H 127.0.0.1 -p PORT` is moto's own server with this in place;
`install()` puts it in place in this process (the functional tests' in-process moto)."""
import functools
import sys
import threading

_lock = threading.RLock()


def install() -> None:
    from moto.dynamodb.responses import DynamoHandler
    if getattr(DynamoHandler.call_action, "__infrai_atomic__", False):
        return
    original = DynamoHandler.call_action

    @functools.wraps(original)
    def one_at_a_time(self, *args, **kwargs):
        with _lock:
            return original(self, *args, **kwargs)
    one_at_a_time.__infrai_atomic__ = True
    DynamoHandler.call_action = one_at_a_time


if __name__ == "__main__":
    install()
    from moto.server import main
    main(sys.argv[1:])
