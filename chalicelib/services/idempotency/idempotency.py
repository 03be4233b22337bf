"""Idempotency for every POST, on Powertools' `idempotent_function` and its DynamoDB layer.

Scope: project + operation + key, kept 24 h. Same key and body -> the stored response, no
second effect; same key, other body -> 422; same key still running -> 409. Powertools is
imported on first use only: most requests carry no key, and cold starts are billed."""
import base64
import functools
import json
import time
import zlib

from ... import config
from ...aws import clients
from ...core import sealing
from ...core.errors import Conflict, IdempotencyMismatch

KEEP_SECONDS = 24 * 3600
PACK_OVER = 1024       # bytes: a longer answer is kept zlib-compressed (a batch's 100 results: 17 KB -> ~3 KB)
PACKED = "_zlib_b64"
WAIT_FOR_FIRST = 5.0   # a concurrent twin waits this long for the first request's answer, then 409
_lambda_context = None


def set_lambda_context(context) -> None:
    """In-progress records expire with the invocation, so a crash does not lock a key for 24 h."""
    global _lambda_context
    _lambda_context = context


@functools.lru_cache(maxsize=None)
def _runner(operation: str, table: str):
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function)

    cfg = IdempotencyConfig(event_key_jmespath="[project, operation, key]",
                            payload_validation_jmespath="body",
                            expires_after_seconds=KEEP_SECONDS, use_local_cache=False)
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=clients.dynamodb())
    # Configured here, once, before any request can use it: Powertools configures on first use
    # and marks itself configured before it is, so a second thread (the local stack serves
    # requests on threads) could read a half-made layer and answer 500.
    persistence.configure(cfg, key_prefix=f"infrai.{operation}")

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence,
                         config=cfg, key_prefix=f"infrai.{operation}")
    def run(request: dict, fn):
        return fn()

    return run, cfg


def once(project_id: str, operation: str, key: str | None, body: dict, fn, *, secrets=()):
    """Run `fn()` (which returns a JSON-ready dict) at most once per (project, operation, key).
    `secrets`: fields of the response that are stored sealed (core/sealing.py), never in clear."""
    if key is None:
        return fn()
    if secrets:
        sealing.check_key(key)
        context, make = f"{project_id}|{operation}", fn

        def fn():
            return sealing.seal(make(), secrets, key, context)
        return sealing.unseal(_once(project_id, operation, key, body, fn), secrets, key, context)
    return _once(project_id, operation, key, body, fn)


def _once(project_id: str, operation: str, key: str, body: dict, fn):
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError, IdempotencyValidationError)

    run, cfg = _runner(operation, config.idempotency_table_name())
    if _lambda_context is not None:
        cfg.register_lambda_context(_lambda_context)
    fingerprint = json.loads(json.dumps({k: v for k, v in body.items() if k != "idempotency_key"},
                                        sort_keys=True, default=str))
    request = {"project": project_id, "operation": operation, "key": key, "body": fingerprint}
    deadline, pause = time.monotonic() + WAIT_FOR_FIRST, 0.02
    try:
        while True:
            try:
                return _unpack(run(request=request, fn=lambda: _pack(fn())))
            except IdempotencyAlreadyInProgressError:
                if time.monotonic() + pause > deadline:
                    raise Conflict("A request with this idempotency_key is still being processed; retry "
                                   "in a moment to get its result.", field="idempotency_key")
                time.sleep(pause)   # the first request is nearly always done within milliseconds
                pause = min(pause * 2, 0.5)
    except IdempotencyValidationError:
        raise IdempotencyMismatch("This idempotency_key was already used with a different request "
                                  "body in the last 24 h; use a new key for a new request.",
                                  field="idempotency_key")


def _pack(response):
    """What is kept of an answer: itself, or compressed when that is smaller (write units are
    per KB: a batch's answer, stored whole, would cost more than its messages' list entries)."""
    text = json.dumps(response, separators=(",", ":"))
    if len(text) <= PACK_OVER:
        return response
    packed = base64.b64encode(zlib.compress(text.encode(), 6)).decode()
    return {PACKED: packed} if len(packed) < len(text) else response


def _unpack(kept):
    if isinstance(kept, dict) and len(kept) == 1 and isinstance(kept.get(PACKED), str):
        return json.loads(zlib.decompress(base64.b64decode(kept[PACKED])))
    return kept
