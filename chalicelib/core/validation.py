"""Field checks shared by every route. Each failure names the field and says how to fix it;
nothing is written before every field has passed."""
import re
import unicodedata

from . import strict_json
from .errors import InvalidInput, PayloadTooLarge

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_DEPTH = 64          # levels of nested objects and arrays in a request body
MAX_REQUEST_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024   # one payload and the fields around it
MAX_BATCH_REQUEST_BYTES = 1024 * 1024               # publish-batch: up to 100 messages in all
MAX_IDEMPOTENCY_KEY = 255
MAX_EXTRA_HEADERS = 20
MAX_HEADER_NAME = 256
MAX_HEADER_VALUE = 4096
# Headers the service owns: a caller may not replace the signature, framing or routing.
RESERVED_HEADERS = ("content-type", "content-length", "host", "transfer-encoding", "connection",
                    "user-agent", "traceparent", "tracestate")   # the trace: the request's own headers (core/traces.py)
RESERVED_HEADER_PREFIXES = ("webhook-", "infrai-")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")   # what every HTTP stack sends unchanged
NAME = re.compile(r"[A-Za-z0-9._-]{1,80}")   # a queue's or topic's name; always fullmatch
_TOKEN_CHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def parse_json_body(raw: bytes | None, max_bytes: int = MAX_REQUEST_BYTES, slots: str | None = None) -> dict:
    """The body as a JSON object, under the one JSON rule (RFC 8259, strictly): UTF-8, no NaN or
    Infinity, numbers that survive the round trip, no lone surrogates in any string, nested at most
    MAX_DEPTH levels. `slots`: a list field whose items are checked one by one by the route (a bad
    message in publish-batch gets an error in its own slot, not the whole request)."""
    if raw is None or raw == b"":
        raise InvalidInput("The request body is empty: send a JSON object, e.g. {\"url\": ..., \"payload\": {...}}.")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The request body is over {max_bytes // 1024} KB; send a smaller payload"
                              + (" or split the batch." if max_bytes > MAX_REQUEST_BYTES else "."),
                              field="payload")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        body = strict_json.loads(text)
        too_deep = _depth_over(body, MAX_DEPTH)
    except UnicodeDecodeError as e:
        raise InvalidInput(f"The request body is not valid UTF-8 (byte {e.start}); send JSON encoded as UTF-8.")
    except ValueError as e:
        raise InvalidInput(f"The request body is not valid JSON ({e}); send a JSON object.")
    except RecursionError:
        too_deep = True
    if too_deep:
        raise InvalidInput(f"The request body nests objects and arrays more than {MAX_DEPTH} levels deep; "
                           "flatten the payload.", field="payload")
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object, e.g. {\"url\": ..., \"payload\": {...}}.")
    for name, value in body.items():
        if name != slots or not isinstance(value, list):
            text_only(value, name)
    return body


def text_only(value, field: str) -> None:
    """Refuse a value holding a lone UTF-16 surrogate in any string or key: it has no UTF-8 form,
    so it could be neither stored nor sent."""
    where = strict_json.bad_string(value)
    if where is not None:
        raise InvalidInput(f"'{field}' holds a lone UTF-16 surrogate{where}; send text as valid Unicode.",
                           field=field)


def _depth_over(value, limit: int) -> bool:
    """Whether JSON `value` nests containers deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def reject_unknown(body: dict, allowed) -> None:
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise InvalidInput(f"Unknown field '{extra[0]}'; accepted fields are: {', '.join(sorted(allowed))}.",
                           field=extra[0])


def integer(body: dict, name: str, default: int, lo: int, hi: int) -> int:
    value = body.get(name, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidInput(f"'{name}' must be a whole number from {lo} to {hi}.", field=name)
    if not lo <= value <= hi:
        raise InvalidInput(f"'{name}' must be from {lo} to {hi}; got {value}.", field=name)
    return value


def string(body: dict, name: str, *, required=True, max_len=256, min_len=1, default=None) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"'{name}' is required.", field=name)
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string.", field=name)
    text_only(value, name)
    if not min_len <= len(value) <= max_len:
        raise InvalidInput(f"'{name}' must be {min_len} to {max_len} characters long.", field=name)
    return value


def printable(value: str, field: str) -> str:
    """Refuse control and format characters (Unicode Cc, Cf: NUL, CR/LF, tab, U+202E, zero-width
    joiners): in a name they break logs, headers and terminals, or make it read as another name."""
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in ("Cc", "Cf"):
            raise InvalidInput(f"'{field}' holds a control or format character (U+{ord(ch):04X} at position {i}); "
                               "remove it: names are visible text only.", field=field)
    return value


def not_only_dots(value: str, field: str) -> str:
    """Refuse '.', '..', ...: as a path segment, clients and proxies normalise them away, so a
    resource so named could be made but never reached."""
    if value and set(value) == {"."}:
        raise InvalidInput(f"'{field}' must not be made only of dots ('.' and '..' are removed from URL paths); "
                           "add a letter or digit.", field=field)
    return value


def boolean(body: dict, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"'{name}' must be true or false.", field=name)
    return value


def payload(body: dict, name="payload", *, required=True) -> str:
    """The payload as compact JSON text (what is stored and sent). Must be an object."""
    if name not in body or body[name] is None:
        if required:
            raise InvalidInput(f"'{name}' is required: a JSON object, e.g. {{\"order_id\": \"ord_42\"}}.",
                               field=name)
        return "{}"
    value = body[name]
    if not isinstance(value, dict):
        raise InvalidInput(f"'{name}' must be a JSON object (got {type(value).__name__}); wrap it, "
                           f"e.g. {{\"data\": ...}}.", field=name)
    text_only(value, name)
    text = strict_json.dumps(value)
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"'{name}' is over {MAX_PAYLOAD_BYTES // 1024} KB once encoded; store large data "
                              "elsewhere and send a reference.", field=name)
    return text


def any_json(body: dict, name="payload") -> str:
    """Any JSON value (the cron table says `unknown`), as compact text; absent means `{}`."""
    if body.get(name) is None:
        return "{}"
    text_only(body[name], name)
    text = strict_json.dumps(body[name])
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"'{name}' is over {MAX_PAYLOAD_BYTES // 1024} KB once encoded; store large data "
                              "elsewhere and send a reference.", field=name)
    return text


def extra_headers(body: dict, name="headers") -> dict:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"'{name}' must be an object of header names to string values.", field=name)
    if len(value) > MAX_EXTRA_HEADERS:
        raise InvalidInput(f"'{name}' may hold at most {MAX_EXTRA_HEADERS} headers.", field=name)
    out = {}
    for key, val in value.items():
        where = f"{name}.{key}"
        if not key or len(key) > MAX_HEADER_NAME or not set(key) <= _TOKEN_CHARS:
            raise InvalidInput(f"Header name '{key[:40]}' is not a valid HTTP header name.", field=where)
        low = key.lower()
        if low in RESERVED_HEADERS or low.startswith(RESERVED_HEADER_PREFIXES):
            raise InvalidInput(f"Header '{key}' is set by the service and cannot be overridden; "
                               "remove it.", field=where)
        if low in {k.lower() for k in out}:
            raise InvalidInput(f"Header '{key}' is given twice.", field=where)
        if not isinstance(val, str) or len(val) > MAX_HEADER_VALUE or not _HEADER_VALUE.fullmatch(val):
            raise InvalidInput(f"Header '{key}' must be a string of at most {MAX_HEADER_VALUE} printable ASCII "
                               "characters (no line breaks; percent-encode anything else).", field=where)
        out[key] = val
    return out


def idempotency_key(body: dict, header_value: str | None) -> str | None:
    """The request's key, from the body field or the Idempotency-Key header (a null field is
    as good as absent: it must not hide the header)."""
    value = body.get("idempotency_key")
    if value is None:
        value = header_value
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"'idempotency_key' must be a string of 1 to {MAX_IDEMPOTENCY_KEY} characters.",
                           field="idempotency_key")
    if body.get("idempotency_key") is not None and header_value is not None and header_value != value:
        raise InvalidInput("'idempotency_key' in the body and the Idempotency-Key header differ; send one.",
                           field="idempotency_key")
    return value


def query_limit(params: dict | None, default=20, hi=100) -> int:
    raw = (params or {}).get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= hi:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {hi}.", field="limit")
    return int(raw)
