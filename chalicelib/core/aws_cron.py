"""Rendering parsed cron fields as AWS EventBridge Scheduler `cron(...)` expressions.

Kept apart from `schedules.py` so the standard-cron side never needs to know AWS syntax.
Everything here works on plain sorted tuples of ints in *standard* cron numbering
(day-of-week 0-6, 0 = Sunday); the renumbering to AWS (1-7, 1 = Sunday) happens here only.

AWS syntax facts this module relies on (EventBridge cron reference table):
- six fields: minutes hours day-of-month month day-of-week year;
- exactly one of day-of-month / day-of-week is `?`;
- `/` steps are allowed in minutes, hours, day-of-month, month and year, but NOT in
  day-of-week, so a day-of-week set is always written as names and ranges;
- `a/n` means "a, a+n, ... up to the field's maximum" (Quartz semantics).
"""

# AWS day-of-week names in AWS order: index 0 is AWS day 1 (Sunday).
AWS_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

# Standard-cron field bounds, used to decide when a set can be written as `*` or `a/n`.
MINUTE, HOUR, DOM, MONTH = (0, 59), (0, 23), (1, 31), (1, 12)


def render(minutes, hours, doms, months, dows, day_rule) -> list[str]:
    """One AWS expression, or two when standard cron means "day-of-month OR day-of-week".

    `day_rule` is one of "every", "dom", "dow", "either" (see schedules.Schedule).
    """
    head = f"{render_field(minutes, *MINUTE)} {render_field(hours, *HOUR)}"
    month = render_field(months, *MONTH)
    dom, dow = render_field(doms, *DOM), render_days_of_week(dows)
    if day_rule == "every":
        pairs = [("*", "?")]
    elif day_rule == "dom":
        pairs = [(dom, "?")]
    elif day_rule == "dow":
        pairs = [("?", dow)]
    else:  # "either": AWS can't say OR in one expression, so two schedules cover it.
        pairs = [(dom, "?"), ("?", dow)]
    return [f"cron({head} {d} {month} {w} *)" for d, w in pairs]


def render_field(values, lo: int, hi: int) -> str:
    """Shortest safe spelling of a set of ints: `*`, `a/n`, `a-b/n`, or a list of runs."""
    values = sorted(set(values))
    if values == list(range(lo, hi + 1)):
        return "*"
    step = _common_step(values)
    if step and step > 1:
        first, last = values[0], values[-1]
        # `a/n` runs to the field maximum; only use it when that is exactly the set.
        if last + step > hi:
            return f"{first}/{step}"
        return f"{first}-{last}/{step}"
    return ",".join(_format_run(run, str) for run in _runs(values))


def render_days_of_week(dows) -> str:
    """Standard 0-6 (0 = Sunday) -> AWS names; no steps, no wrapping ranges (AWS has neither)."""
    aws_days = sorted({d % 7 for d in dows})  # AWS order SUN..SAT == standard 0..6
    if aws_days == list(range(7)):
        return "*"
    return ",".join(_format_run(run, lambda d: AWS_DAY_NAMES[d]) for run in _runs(aws_days))


def _common_step(values) -> int | None:
    """The step if `values` (sorted, 3 or more) is an arithmetic progression, else None."""
    if len(values) < 3:
        return None
    step = values[1] - values[0]
    if all(b - a == step for a, b in zip(values, values[1:])):
        return step
    return None


def _runs(values):
    """Split sorted ints into runs of consecutive values."""
    run = [values[0]]
    for v in values[1:]:
        if v == run[-1] + 1:
            run.append(v)
        else:
            yield run
            run = [v]
    yield run


def _format_run(run, name) -> str:
    # Two-value runs read better as a list ("SAT,SUN" style) than as a range.
    if len(run) >= 3:
        return f"{name(run[0])}-{name(run[-1])}"
    return ",".join(name(v) for v in run)
