"""A stand-in for what moto lacks: DynamoDB's atomic writes. moto evaluates a write's condition,
then applies it, with nothing between them held; its threaded server runs requests at once, so
two conditional writes could both pass. A transaction even copies whole tables to roll back
(while a read may add to them: a missing key in moto's item maps is created on lookup), and a
cancelled one restores that copy, undoing other requests' writes made meanwhile. On AWS each
write is atomic and transactions are isolated: running moto's DynamoDB requests one at a time
gives the same outcome, so plan limits (conditional counters, transactions) behave locally as
they do on AWS. Other services (SQS's long polls) are not affected.

Held one at a time, a transaction needs no copy of whole tables to roll back either: moto's copy
made every transaction cost O(table) in time and memory (a local stack holding 3,000 cron jobs
grew to 12 GB creating more, each create being a counter transaction). A transaction here saves
only the items it touches and puts them back if it is cancelled.

`python -m local.moto_atomic -H 127.0.0.1 -p PORT` is moto's own server with this in place;
`install()` puts it in place in this process (the functional tests' in-process moto)."""
import copy
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
    _transactions_save_only_their_items()


def _transactions_save_only_their_items() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    class _NoTableCopies:
        """moto's `copy` module, except that a whole table is not copied (see the docstring)."""

        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(x, memo=None):
            return x if isinstance(x, Table) else copy.deepcopy(x, memo)

    models.copy = _NoTableCopies()
    original = models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self, transact_items):
        saved = []
        for item in transact_items:
            try:
                op_type, op = next(iter(item.items()))
                table = self.get_table(op["TableName"])
                names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
                key = {n: op["Item"][n] for n in names} if op_type == "Put" else op["Key"]
                hash_key, range_key = self.get_keys_value(table, key)
            except Exception:  # noqa: BLE001 - a malformed op: moto's own code reports it
                continue
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(saved):
                _put_back(table, hash_key, range_key, before)
            raise
    models.DynamoDBBackend.transact_write_items = transact_write_items


def _put_back(table, hash_key, range_key, before) -> None:
    if range_key is not None:
        if before is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = before
    elif before is None:
        table.items.pop(hash_key, None)
    else:
        table.items[hash_key] = before


def loopback_only(app, port: int):
    """The embedded AWS answers only requests addressed to 127.0.0.1:PORT, localhost:PORT or
    [::1]:PORT, as the stack's API does: moto checks no signature, so a web page rebound to
    127.0.0.1 (DNS rebinding) could otherwise read and write every table."""
    allowed = {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}

    def guarded(environ, start_response):
        if (environ.get("HTTP_HOST") or "").strip().lower() in allowed:
            return app(environ, start_response)
        start_response("421 Misdirected Request", [("Content-Type", "text/plain")])
        return [b"The local stack's embedded AWS answers only 127.0.0.1, localhost or [::1] with its port.\n"]
    return guarded


def _serve_loopback_only():
    import moto.server

    real = moto.server.run_simple

    def run_simple(hostname, port, application, *args, **kwargs):
        return real(hostname, port, loopback_only(application, port), *args, **kwargs)
    moto.server.run_simple = run_simple


if __name__ == "__main__":
    install()
    _serve_loopback_only()
    from moto.server import main
    main(sys.argv[1:])
