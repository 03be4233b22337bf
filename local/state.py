"""The local stack's memory across restarts. moto keeps everything in RAM, so both DynamoDB tables
(data and idempotency) are written to one JSON file on a graceful stop, and every
`INFRAI_LOCAL_SNAPSHOT_SECONDS` (30 by default) while running, and loaded back on start before
anything else runs. DynamoDB is the truth: what lived only in SQS (delayed and retrying work)
or in EventBridge Scheduler (the schedules) is rebuilt from it by chalicelib.services.repair.recovery.

The file holds DynamoDB's own item format (numbers stay strings, so nothing is rounded; binary
values are base64), is written atomically (a temporary file in the same directory, fsync'd, then
renamed over the old one: a crash leaves the old snapshot or the new one, never half of one),
and is readable only by its owner (it holds API key hashes and signing secrets). Expired items
(their TTL attribute in the past) are left out: real DynamoDB would have deleted them."""
import base64
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("infrai.local.state")

FORMAT = "infrai-local-state/1"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SNAPSHOT_SECONDS = 30.0
_save_lock = threading.Lock()


def default_path() -> Path:
    """`INFRAI_LOCAL_STATE`, else local/state/snapshot.json under the repository root."""
    return Path(os.environ.get("INFRAI_LOCAL_STATE") or ROOT / "local" / "state" / "snapshot.json")


def seal_key(state_file=None) -> str:
    """The local stack's at-rest sealing key (INFRAI_SEAL_KEY), base64: read from seal.key beside
    `state_file`, made there (readable by its owner only) the first time; without a state file,
    a new one for this run."""
    if not state_file:
        return base64.b64encode(os.urandom(32)).decode()
    path = Path(state_file).parent / "seal.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = base64.b64encode(os.urandom(32)).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        return key


def snapshot_interval() -> float:
    """Seconds between periodic snapshots (`INFRAI_LOCAL_SNAPSHOT_SECONDS`; 0 turns them off)."""
    return float(os.environ.get("INFRAI_LOCAL_SNAPSHOT_SECONDS", DEFAULT_SNAPSHOT_SECONDS))


def _tables() -> dict[str, str]:
    """The tables kept, each with its TTL attribute (one source: chalicelib/aws/resources.py)."""
    from chalicelib import config
    from chalicelib.aws import resources
    return {config.table_name(): resources.TABLE_TTL_ATTRIBUTE,
            config.idempotency_table_name(): resources.IDEMPOTENCY_TTL_ATTRIBUTE}


@dataclass
class Restored:
    """What `restore` loaded: items per table, when the snapshot was taken, and what the stack
    wrote beside the tables (`meta`, e.g. its generated API key)."""
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    saved_at: float | None = None
    meta: dict = field(default_factory=dict)
    items: dict[str, list] = field(default_factory=dict, repr=False)   # per table, DynamoDB format

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class SnapshotError(RuntimeError):
    """The snapshot file exists but cannot be loaded: the stack must not start empty (its next
    save would overwrite what the user had)."""


# -- the item format: DynamoDB JSON with binary values as base64 ----------------------------

def _encode(value: dict) -> dict:
    (kind, v), = value.items()
    if kind == "B":
        return {"B": base64.b64encode(v).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in v]}
    if kind == "M":
        return {"M": {k: _encode(x) for k, x in v.items()}}
    if kind == "L":
        return {"L": [_encode(x) for x in v]}
    return value


def _decode(value: dict) -> dict:
    (kind, v), = value.items()
    if kind == "B":
        return {"B": base64.b64decode(v)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in v]}
    if kind == "M":
        return {"M": {k: _decode(x) for k, x in v.items()}}
    if kind == "L":
        return {"L": [_decode(x) for x in v]}
    return value


def _expired(item: dict, ttl_attr: str, now: float) -> bool:
    ttl = item.get(ttl_attr, {}).get("N")
    try:
        return ttl is not None and float(ttl) < now
    except ValueError:
        return False


def _scan(table: str):
    from chalicelib.aws import clients
    pages = clients.dynamodb().get_paginator("scan")
    for page in pages.paginate(TableName=table, ConsistentRead=True):
        yield from page.get("Items", [])


# -- save and restore ------------------------------------------------------------------------

def save(path, meta: dict | None = None) -> dict[str, int]:
    """Write every live item of both tables to `path`, atomically. Returns items per table."""
    path = Path(path)
    now = time.time()
    tables, counts = {}, {}
    for table, ttl_attr in _tables().items():
        items = [{k: _encode(v) for k, v in item.items()}
                 for item in _scan(table) if not _expired(item, ttl_attr, now)]
        tables[table], counts[table] = items, len(items)
    document = {"format": FORMAT, "saved_at": now, "meta": meta or {}, "tables": tables}
    with _save_lock:
        _write_atomically(path, json.dumps(document, separators=(",", ":")).encode())
    return counts


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:   # make the rename itself durable (power loss right after a stop)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def restore(path) -> Restored:
    """Load a snapshot into the (empty, provisioned) tables with batch writes. A missing file is
    a fresh start (counts empty); an unreadable one raises SnapshotError."""
    path = Path(path)
    result = Restored(path)
    if not path.exists():
        return result
    try:
        document = json.loads(path.read_bytes())
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} snapshot")
        tables = document["tables"]
    except (OSError, ValueError, KeyError) as e:
        raise SnapshotError(f"cannot load the local state from {path}: {e}. Move the file away to "
                            "start fresh, or fix it.") from e
    from chalicelib.aws import clients
    ddb = clients.dynamodb()
    known = _tables()
    for table, items in tables.items():
        if table not in known:
            log.warning("snapshot %s has table %s, which this stage does not use: skipped", path, table)
            continue
        result.items[table] = [{k: _decode(v) for k, v in item.items()} for item in items]
        result.counts[table] = len(items)
        pending = [{"PutRequest": {"Item": item}} for item in result.items[table]]
        while pending:
            resp = ddb.batch_write_item(RequestItems={table: pending[:25]})
            pending = pending[25:] + resp.get("UnprocessedItems", {}).get(table, [])
    result.saved_at = document.get("saved_at")
    result.meta = document.get("meta") or {}
    return result


class PeriodicSnapshots:
    """Saves every `every` seconds in a background thread, so an unclean kill (SIGKILL, power
    loss) loses at most that much. A save reads every item from moto (about 1.6 s per 1,000
    records), so a slow one rests three times as long as it took: snapshots never take more
    than a quarter of moto's time. A failed save is logged and tried again next time."""

    def __init__(self, path, every: float, meta=None):
        self.path, self.every, self.meta = Path(path), every, meta or (lambda: {})
        self._stop = threading.Event()
        self._thread = None
        self.saves = 0

    def start(self) -> "PeriodicSnapshots":
        self._thread = threading.Thread(target=self._loop, name="state-snapshots", daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        wait = self.every
        while not self._stop.wait(wait):
            started = time.monotonic()
            try:
                save(self.path, self.meta())
                self.saves += 1
            except Exception:  # noqa: BLE001 - moto busy or stopping: the next round tries again
                if not self._stop.is_set():
                    log.exception("periodic snapshot to %s failed", self.path)
            wait = max(self.every, 3 * (time.monotonic() - started))

    def stop(self, timeout=30):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
