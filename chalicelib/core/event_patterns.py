"""A subscription's `filter`: an EventBridge event pattern, the subset AWS users meet first,
matched against a published payload (a JSON object).

A pattern is an object whose keys name the payload's fields. A value is either an object (the
field is an object; its pattern applies inside it) or a non-empty list of matchers, any of which
may match:
  - a string, number, boolean or null: equal to the field (numbers compare as numbers, 100 = 100.0)
  - {"prefix": "ord_"}: a string field that starts with it
  - {"anything-but": v}: a field present and not v (v: a value, a list of values, or {"prefix": ...})
  - {"exists": true | false}: the field is present (any value, null included) or absent
  - {"numeric": [">", 100, "<=", 500]}: a number field within one or two bounds
A field holding a list matches if any of its elements does (as EventBridge). Every key of the
pattern must match. Not supported (a 400 at create, never silently ignored): suffix,
equals-ignore-case, wildcard, cidr, $or."""
from .errors import InvalidInput

MAX_PATTERN_CHARS = 4096
MAX_DEPTH = 10
MAX_MATCHERS = 100
NUMERIC_OPS = ("<", "<=", "=", ">", ">=")
MATCHERS = {"prefix", "suffix", "anything-but", "exists", "numeric", "equals-ignore-case", "wildcard", "cidr"}
_MISSING = object()


def check(pattern, field: str = "filter") -> dict:
    """The pattern, checked: a 400 naming the place (e.g. `filter.amount[0]`) and how to fix it."""
    if not isinstance(pattern, dict) or not pattern:
        raise InvalidInput(f"'{field}' must be a non-empty object, an EventBridge event pattern such as "
                           "{\"amount\": [{\"numeric\": [\">\", 100]}]}.", field=field)
    count = [0]
    _check_object(pattern, field, 1, count)
    if len(repr(pattern)) > MAX_PATTERN_CHARS:
        raise InvalidInput(f"'{field}' is too large (over {MAX_PATTERN_CHARS} characters); keep a pattern short.",
                           field=field)
    return pattern


def _check_object(pattern: dict, where: str, depth: int, count: list) -> None:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"'{where}' nests deeper than {MAX_DEPTH} levels.", field=where)
    for key, value in pattern.items():
        place = f"{where}.{key}"
        if not key:
            raise InvalidInput(f"'{where}' has an empty key; name a payload field.", field=where)
        if key.startswith("$"):
            raise InvalidInput(f"'{place}': '{key}' is not supported (only field names; no $or).", field=place)
        if isinstance(value, dict):
            if set(value) & MATCHERS:   # a likely slip: {"amount": {"numeric": ...}}
                raise InvalidInput(f"'{place}': a matcher goes in a list, e.g. "
                                   f"{{\"{key}\": [{{\"{sorted(set(value) & MATCHERS)[0]}\": ...}}]}}.", field=place)
            if not value:
                raise InvalidInput(f"'{place}' is an empty object; give it fields or remove it.", field=place)
            _check_object(value, place, depth + 1, count)
        elif isinstance(value, list):
            if not value:
                raise InvalidInput(f"'{place}' is an empty list, which matches nothing; give at least one "
                                   "value or matcher.", field=place)
            for i, matcher in enumerate(value):
                count[0] += 1
                if count[0] > MAX_MATCHERS:
                    raise InvalidInput(f"A filter has at most {MAX_MATCHERS} matchers.", field=where)
                _check_matcher(matcher, f"{place}[{i}]")
        else:
            raise InvalidInput(f"'{place}' must be a list of values or matchers, e.g. [\"paid\"] or "
                               "[{\"prefix\": \"ord_\"}], or an object for a nested field.", field=place)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_literal(value) -> bool:
    return value is None or isinstance(value, (str, bool)) or _is_number(value)


def _check_matcher(matcher, place: str) -> None:
    if _is_literal(matcher):
        return
    if not isinstance(matcher, dict) or len(matcher) != 1:
        raise InvalidInput(f"'{place}' must be a value (string, number, boolean, null) or an object with one "
                           "of: prefix, anything-but, exists, numeric.", field=place)
    (op, arg), = matcher.items()
    if op == "prefix":
        if not isinstance(arg, str) or not arg:
            raise InvalidInput(f"'{place}': prefix takes a non-empty string.", field=place)
    elif op == "anything-but":
        if isinstance(arg, dict):
            if list(arg) != ["prefix"] or not isinstance(arg["prefix"], str) or not arg["prefix"]:
                raise InvalidInput(f"'{place}': anything-but takes a value, a list of values or "
                                   "{\"prefix\": \"...\"}.", field=place)
        elif isinstance(arg, list):
            if not arg or not all(_is_literal(v) and v is not None for v in arg):
                raise InvalidInput(f"'{place}': anything-but's list must hold strings, numbers or booleans.",
                                   field=place)
        elif not _is_literal(arg) or arg is None:
            raise InvalidInput(f"'{place}': anything-but takes a string, number, boolean or list of them.",
                               field=place)
    elif op == "exists":
        if not isinstance(arg, bool):
            raise InvalidInput(f"'{place}': exists takes true or false.", field=place)
    elif op == "numeric":
        _check_numeric(arg, place)
    else:
        raise InvalidInput(f"'{place}': '{op}' is not supported; use prefix, anything-but, exists or numeric.",
                           field=place)


def _check_numeric(arg, place: str) -> None:
    ok = isinstance(arg, list) and len(arg) in (2, 4)
    if ok:
        pairs = [(arg[i], arg[i + 1]) for i in range(0, len(arg), 2)]
        ok = all(op in NUMERIC_OPS and _is_number(n) for op, n in pairs)
        if ok and len(pairs) == 2:   # a range: one lower bound and one upper bound
            ops = sorted(op[0] for op, _ in pairs)
            ok = ops == ["<", ">"]
    if not ok:
        raise InvalidInput(f"'{place}': numeric takes [op, number] or a range [\">\", 0, \"<=\", 5], ops "
                           f"among {', '.join(NUMERIC_OPS)}.", field=place)


def matches(pattern: dict, payload: dict) -> bool:
    """Whether a checked pattern matches the payload (every key of the pattern)."""
    return _object_matches(pattern, payload if isinstance(payload, dict) else {})


def _object_matches(pattern: dict, obj: dict) -> bool:
    for key, want in pattern.items():
        value = obj.get(key, _MISSING) if isinstance(obj, dict) else _MISSING
        if isinstance(want, dict):
            if not _object_matches(want, value if isinstance(value, dict) else {}):
                return False
        elif not any(_field_matches(m, value) for m in want):
            return False
    return True


def _field_matches(matcher, value) -> bool:
    if isinstance(matcher, dict) and "exists" in matcher:
        return (value is not _MISSING) == matcher["exists"]
    if value is _MISSING:
        return False
    if isinstance(value, list):
        return any(_one_matches(matcher, v) for v in value)
    return _one_matches(matcher, value)


def _one_matches(matcher, value) -> bool:
    if not isinstance(matcher, dict):
        return _equal(matcher, value)
    (op, arg), = matcher.items()
    if op == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if op == "anything-but":
        if isinstance(arg, dict):
            return isinstance(value, str) and not value.startswith(arg["prefix"])
        excluded = arg if isinstance(arg, list) else [arg]
        return value is not None and not any(_equal(x, value) for x in excluded)
    if op == "numeric":
        return _is_number(value) and all(_compare(value, arg[i], arg[i + 1]) for i in range(0, len(arg), 2))
    return False


def _equal(a, b) -> bool:
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _compare(value, op: str, bound) -> bool:
    return {"<": value < bound, "<=": value <= bound, "=": value == bound,
            ">": value > bound, ">=": value >= bound}[op]
