"""DynamoDB's single-item atomicity, which moto lacks. On AWS a conditional write is atomic: two
writers racing on one key, one wins. moto checks the condition and then writes without a lock, so
two threads can both pass `attribute_not_exists` (seen here: a cron firing delivered twice by
the local stack's concurrent batches), and a transaction deep-copies a table another thread is
changing. Every DynamoDB operation of the backend takes one lock here, so the local stack (moto
server, threaded) and the in-process tests get the behaviour the service relies on from AWS.

`python -m local.moto_atomic -H 127.0.0.1 -p PORT` is moto's server with the lock installed."""
import functools
import sys
import threading

OPERATIONS = ("get_item", "batch_get_item", "put_item", "update_item", "delete_item", "batch_write_item",
              "transact_write_items", "transact_get_items", "query", "scan")
_lock = threading.RLock()


def install() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    for name in OPERATIONS:
        real = getattr(DynamoDBBackend, name)
        if getattr(real, "_infrai_atomic", False):
            continue

        @functools.wraps(real)
        def atomic(self, *args, _real=real, **kwargs):
            with _lock:
                return _real(self, *args, **kwargs)
        atomic._infrai_atomic = True
        setattr(DynamoDBBackend, name, atomic)


if __name__ == "__main__":
    install()
    from moto.server import main
    main(sys.argv[1:])
