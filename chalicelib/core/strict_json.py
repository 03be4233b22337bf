"""The one JSON rule, both ways (RFC 8259, strictly). In: UTF-8 text, no NaN or Infinity, no
number that does not survive the round trip (1e999 would become Infinity, 1e-999 zero), no lone
UTF-16 surrogate in a string. Out: always strict JSON, so any parser, the TypeScript SDK's
included, can read every response."""
import json
import math


def _constant(name: str):
    raise ValueError(f"{name} is not JSON; send a number, a string or null")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value) or (value == 0.0 and any(c in "123456789" for c in text.split("e")[0].split("E")[0])):
        raise ValueError(f"the number {text[:40]} is out of range for a double; send it as a string")
    return value


def loads(text: str):
    """JSON text to a value, refusing what RFC 8259 leaves out (raises ValueError)."""
    return json.loads(text, parse_constant=_constant, parse_float=_float)


def bad_string(value) -> str | None:
    """Where `value` holds a string (or key) with no UTF-8 form, e.g. ' at payload.a'; None if none."""
    stack = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if not _encodable(node):
                return f" at {path[1:]}" if path else ""
        elif isinstance(node, dict):
            for k, v in node.items():
                if not _encodable(k):
                    return f" in a key under {path[1:] or 'the top level'}"
                stack.append((v, f"{path}.{k}"))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def dumps(value) -> str:
    """Compact strict JSON text (what is stored and sent). A value from before the rule (a NaN
    stored by an older version) is written as null rather than as invalid JSON."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(value), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # a lone surrogate that got past the input checks is replaced, never a failure to encode
    return text if _encodable(text) else text.encode("utf-8", "replace").decode("utf-8")


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def loads_stored(text: str):
    """A stored JSON text back to a value: NaN or Infinity stored before the rule become null."""
    return json.loads(text, parse_constant=lambda _: None)
