"""A stand-in for what moto lacks: DynamoDB's atomic writes. moto evaluates a write's condition,
then applies it, with nothing between them held; its threaded server runs requests at once, so
two conditional writes could both pass (and a cancelled transaction restores a copy of the whole
table, undoing other requests' writes made meanwhile). On AWS each write is atomic and
transactions are isolated: one lock around moto's writes gives the same outcome, so plan
limits (conditional counters, transactions) behave locally as they do on AWS.

`python -m local.moto_atomic -H 127.0.0.1 -p PORT` is moto's own server with the lock in place;
`install()` puts it in place in this process (the functional tests' in-process moto)."""
import functools
import sys
import threading

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)
    locked.__infrai_atomic__ = True
    return locked


def install() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    for name in WRITES[:4]:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "__infrai_atomic__", False):
            setattr(DynamoDBBackend, name, _serialized(method))
    from moto.dynamodb.responses import DynamoHandler   # batch writes call put/delete per item
    if not getattr(DynamoHandler.batch_write_item, "__infrai_atomic__", False):
        DynamoHandler.batch_write_item = _serialized(DynamoHandler.batch_write_item)


if __name__ == "__main__":
    install()
    from moto.server import main
    main(sys.argv[1:])
