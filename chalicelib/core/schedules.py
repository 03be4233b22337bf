"""Cron schedules: parse the standard 5-field cron users write, turn it into the
AWS EventBridge Scheduler expressions we deploy, and predict when AWS will fire them.

Standard cron vs AWS cron (the differences that matter here):
- Fields. Standard: `minute hour day-of-month month day-of-week`. AWS: the same plus a
  trailing `year`, wrapped as `cron(...)`. We take only the 5-field form, and reject 6/7
  fields (AWS/Quartz style) rather than guess which field is the extra one.
- Day-of-week numbering. Standard: 0-7, 0 and 7 = Sunday. AWS: 1-7, 1 = Sunday. We emit
  AWS day names (SUN-SAT) so the renumbering cannot be misread.
- Day fields together. Standard cron (Vixie/POSIX): when both day-of-month and day-of-week
  are restricted (neither starts with `*`), a day matches if EITHER matches. AWS requires
  one of the two to be `?`, so it can only say one of them. We emit TWO AWS expressions for
  the OR case; see `to_aws`. When one field starts with `*` (e.g. `*/2`), Vixie cron ANDs
  the two, which AWS cannot express at all: we reject that if both are really restricted.
- Extensions. AWS's `L`, `W`, `#`, `?` are not standard cron and are rejected.
- Steps. AWS allows no `/` in day-of-week; we expand day-of-week sets to names/ranges.
  We also accept `a/n` (a, a+n, ... to the field's end), common in AWS/Quartz habits.

Daylight saving time (the rule `next_runs` implements), from the EventBridge Scheduler
user guide, "Schedule types" > "Daylight savings time", and the AWS re:Post article
"How can I adjust my Amazon EventBridge schedule for daylight saving?": "When the time
shifts forward in Spring, your schedule invocation gets skipped if the cron expression
falls on a non-existent date and time. When the time shifts back in the Fall, your
schedule runs only once and doesn't repeat its invocation." So: a local wall time inside
a spring-forward gap never fires (it is NOT moved to after the gap), and a local wall
time that occurs twice fires once. AWS does not say which occurrence; we take the first
(fold=0), as the wall clock first shows that time then. This applies per wall-clock minute: `*/30 * * * *` in New York on fall-back night fires at 01:00 and 01:30
EDT and then not again until 02:00 EST, an hour and a half later.
"""
import calendar
import functools
import itertools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as _tz

from . import aws_cron
from .errors import InvalidInput, InvalidSchedule

MAX_LENGTH = 200
EXAMPLE = "we take standard 5-field cron (minute hour day-of-month month day-of-week), e.g. '0 9 * * *'"
EXAMPLE_SENTENCE = EXAMPLE[0].upper() + EXAMPLE[1:]
MACROS = {
    "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}
MONTH_NAMES = {n: i for i, n in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
DAY_NAMES = {n: i for i, n in enumerate("SUN MON TUE WED THU FRI SAT".split())}
# A schedule that matches at all matches within 8 years (Feb 29 across a skipped leap year
# such as 2100); searching 12 years past the last hit is a safety net, not a limit users see.
SEARCH_YEARS = 12
_TOKEN = re.compile(r"([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?(?:/([0-9]+))?")
_NOT_SUPPORTED = re.compile(r"([0-9]*L|L-?[0-9]*|LW|[0-9]+W|.*#.*)", re.IGNORECASE)


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: dict | None = None
    help: str = ""
    open_hi: int | None = None  # where '*' and 'a/n' stop, if not at `hi`


FIELDS = (
    _Field("minute", 0, 59, help="minute takes 0-59"),
    _Field("hour", 0, 23, help="hour takes 0-23"),
    _Field("day-of-month", 1, 31, help="day-of-month takes 1-31"),
    _Field("month", 1, 12, MONTH_NAMES, "month takes 1-12 or JAN-DEC"),
    # '*/n' and 'a/n' stop at 6 so that 7 (Sunday again) never sneaks in.
    _Field("day-of-week", 0, 7, DAY_NAMES, "day-of-week takes 0-7 (0 and 7 are Sunday) or SUN-SAT", 6),
)


@dataclass(frozen=True)
class Schedule:
    """A parsed, validated 5-field cron expression.

    Each field is a sorted tuple of the values it matches; `day_of_week` uses 0-6 with
    0 = Sunday. `day_rule` says how days are chosen (months always apply):
    "every" any day, "dom" day-of-month only, "dow" day-of-week only, "either" day-of-month
    OR day-of-week (standard cron's rule when both are restricted).
    """
    expression: str
    minute: tuple
    hour: tuple
    day_of_month: tuple
    month: tuple
    day_of_week: tuple
    day_rule: str


def parse(expression) -> Schedule:
    """Parse and validate a standard 5-field cron expression or @-macro; raises InvalidSchedule."""
    text = _clean_text(expression)
    fields_text = _expand_macro(text).split()
    if len(fields_text) == 1:
        raise _bad(f"'{text[:40]}' is not a cron expression: {EXAMPLE}, or a shortcut such as '@daily'.")
    if len(fields_text) != 5:
        raise _bad(f"The schedule has {len(fields_text)} field(s): {EXAMPLE}. AWS/Quartz-style "
                   "seconds or year fields are not accepted.")
    values = [_parse_field(t, f) for t, f in zip(fields_text, FIELDS)]
    minute, hour, dom, month, dow = values
    dow = tuple(sorted({d % 7 for d in dow}))  # 7 is Sunday too
    rule = _day_rule(fields_text[2], fields_text[4], dom, dow)
    if rule == "either" and not _dom_can_fire(dom, month):
        rule = "dow"  # 'Feb 31 OR Monday' is just Monday; AWS needn't get a never-firing schedule
    _check_can_fire(text, dom, month, rule)
    return Schedule(text, minute, hour, dom, month, dow, rule)


def _clean_text(expression) -> str:
    if not isinstance(expression, str):
        raise _bad(f"The schedule must be a string: {EXAMPLE}.")
    if len(expression) > MAX_LENGTH:
        raise _bad(f"The schedule is {len(expression)} characters long; the limit is {MAX_LENGTH}: "
                   f"{EXAMPLE}.")
    text = " ".join(expression.split())
    if not text:
        raise _bad(f"The schedule is empty: {EXAMPLE}.")
    if text.lower().startswith(("cron(", "rate(", "at(")):
        raise _bad(f"'{text.split('(')[0]}(...)' is AWS syntax and not accepted here: {EXAMPLE}.")
    return text


def _expand_macro(text: str) -> str:
    if not text.startswith("@"):
        return text
    key = text.lower()
    if key == "@reboot":
        raise _bad("'@reboot' is not supported: a hosted schedule has no reboot to run at. "
                   "Use a time, e.g. '@daily' or '0 9 * * *'.")
    if key not in MACROS:
        raise _bad(f"'{text}' is not a known shortcut; use one of {', '.join(MACROS)}, or {EXAMPLE}.")
    return MACROS[key]


def _parse_field(text: str, field: _Field) -> tuple:
    values = set()
    for token in text.split(","):
        values.update(_parse_token(token, field))
    return tuple(sorted(values))


def _parse_token(token: str, field: _Field) -> range:
    """One list item: `*`, `*/n`, `a`, `a-b`, `a-b/n` or `a/n` (= a to the field maximum)."""
    where = f"{field.name} '{token}'"
    if "?" in token:
        raise _bad(f"'?' in {field.name} is AWS/Quartz syntax and not supported: write '*' for 'any'. "
                   f"{EXAMPLE_SENTENCE}.")
    if _NOT_SUPPORTED.fullmatch(token) and not _is_name(token, field):
        raise _bad(f"{where} uses L, W or # (last/weekday/nth), which standard cron does not support; "
                   "use numbers, ranges (1-5), lists (1,15) and steps (*/15).")
    star = token.startswith("*")
    match = _TOKEN.fullmatch("0" + token[1:] if star else token)  # '*' parses like a placeholder
    if not token or not match or (star and match.group(2)):
        raise _bad(f"{where} is not valid cron syntax; use numbers, names, ranges (1-5), lists (1,15) "
                   f"and steps (*/15). {EXAMPLE_SENTENCE}.")
    start_text, end_text, step_text = match.groups()
    step = int(step_text) if step_text else 1
    if step < 1:
        raise _bad(f"{where} has a step of 0: a step must be at least 1, e.g. '*/15' for every 15.")
    open_hi = field.hi if field.open_hi is None else field.open_hi
    if star:
        return range(field.lo, open_hi + 1, step)
    start = _value(start_text, field, where)
    end = _value(end_text, field, where) if end_text else (max(start, open_hi) if step_text else start)
    if field.names is DAY_NAMES and end_text and end_text.upper() == "SUN" and start > 0:
        end = 7  # 'FRI-SUN' means Friday to Sunday
    if end < start:
        raise _bad(f"{where} runs backwards: write the smaller value first, e.g. '{end}-{start}'; "
                   "ranges don't wrap, so for a span across the end use a list such as '22-23,0-2'.")
    return range(start, end + 1, step)


def _value(text: str, field: _Field, where: str) -> int:
    if text.isascii() and text.isdigit():
        number = int(text)
    elif _is_name(text, field):
        number = field.names[text.upper()]
    else:
        raise _bad(f"{where}: '{text}' is not a number or a known name; {field.help}.")
    if not field.lo <= number <= field.hi:
        raise _bad(f"{where} is out of range: {field.help}.")
    return number


def _is_name(text: str, field: _Field) -> bool:
    return bool(field.names) and text.upper() in field.names


def _day_rule(dom_text: str, dow_text: str, dom: tuple, dow: tuple) -> str:
    """How standard (Vixie) cron combines the two day fields, reduced to what AWS can say."""
    dom_all, dow_all = len(dom) == 31, len(dow) == 7
    if not dom_text.startswith("*") and not dow_text.startswith("*"):
        # Both written as values: OR. If either side is every day, so is the union.
        return "every" if dom_all or dow_all else "either"
    # A field starting with '*' makes Vixie cron AND the two fields.
    if dom_all or dow_all:
        return "every" if dom_all and dow_all else ("dom" if dow_all else "dow")
    raise _bad(f"day-of-month '{dom_text}' with day-of-week '{dow_text}' is ambiguous: classic cron "
               "runs only on days matching BOTH when one starts with '*', which EventBridge cannot "
               "express. Restrict just one of the two, or write both without '*' (e.g. '1-31/2') "
               "to run on days matching EITHER.")


def _dom_can_fire(dom: tuple, months: tuple) -> bool:
    """Whether some day-of-month exists in some month (2024 is a leap year, so Feb 29 counts)."""
    return any(d <= calendar.monthrange(2024, m)[1] for m in months for d in dom)


def _check_can_fire(text: str, dom: tuple, months: tuple, rule: str) -> None:
    """Reject day-of-month/month combinations that never happen, e.g. Feb 30 or Apr 31."""
    if rule != "dom" or _dom_can_fire(dom, months):
        return  # every month has every weekday, so day-of-week rules always fire
    month_names = ", ".join(calendar.month_name[m] for m in months)
    raise _bad(f"'{text}' can never run: day(s) {', '.join(map(str, dom))} never occur in "
               f"{month_names}. February has at most 29 days; April, June, September and "
               "November have 30. Pick a day that exists in those months.")


def _bad(message: str) -> InvalidSchedule:
    return InvalidSchedule(message, field="schedule")


# -- time zones ---------------------------------------------------------------------------

# Files in the zoneinfo folder that are not zones a user means.
_NOT_ZONES = {"localtime", "posixrules", "factory"}


@functools.lru_cache(maxsize=1)
def _zone_names() -> dict:
    return {n.lower(): n for n in zoneinfo.available_timezones() if n.lower() not in _NOT_ZONES}


def check_timezone(name) -> str:
    """The IANA zone name spelled as the tz database spells it ('america/new_york' ->
    'America/New_York'); raises InvalidInput(field="timezone") for anything else."""
    fix = "use an IANA time zone name such as 'UTC', 'Europe/London' or 'America/New_York'"
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"The timezone must be a non-empty string: {fix}.", field="timezone")
    names = _zone_names()
    known = names.get(name.strip().lower())
    if not names and name.lower() not in _NOT_ZONES:
        try:  # no listable tz data here (an odd runtime): fall back to loading the name
            known = zoneinfo.ZoneInfo(name).key
        except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
            pass
    if known is None:
        raise InvalidInput(f"Unknown timezone '{name[:64]}': {fix}.", field="timezone")
    return known


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(check_timezone(name))


# -- AWS expressions ----------------------------------------------------------------------

def to_aws(schedule: Schedule) -> list[str]:
    """AWS EventBridge Scheduler expressions for `schedule`, e.g. ["cron(0 9 * * ? *)"].

    Normally one. When both day-of-month and day-of-week are restricted ("either" rule),
    standard cron fires on days matching EITHER, which one AWS expression can't say, so this
    returns two: [day-of-month version, day-of-week version]. Create one AWS schedule per
    expression. On a day matching both (e.g. the 1st falling on a Monday for `0 9 1 * MON`)
    BOTH AWS schedules fire at the same minute: the caller must dedupe deliveries by
    (cron_id, scheduled time). `next_runs` already reports such a time once.
    """
    s = schedule
    return aws_cron.render(s.minute, s.hour, s.day_of_month, s.month, s.day_of_week, s.day_rule)


# -- fire times ---------------------------------------------------------------------------

def next_runs(schedule: Schedule, timezone: str, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` times (aware, UTC) strictly after `after` at which EventBridge
    Scheduler fires `schedule` evaluated in `timezone`, following the DST rule in the
    module docstring (gap times skipped, repeated times fired once at the first occurrence)."""
    return list(itertools.islice(_fire_times(schedule, timezone, after), max(count, 0)))


def next_run(schedule: Schedule, timezone: str, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`, or None if there is none within reach."""
    return next(_fire_times(schedule, timezone, after), None)


def due_between(schedule: Schedule, timezone: str, start: datetime, end: datetime) -> list[datetime]:
    """Fire times t with start < t <= end (UTC), for an emulator that ticks every second and
    asks "what came due since the last tick?". Same DST rule as `next_runs`."""
    due = []
    # Stop the day walk a day past `end` (slack for any UTC offset) instead of searching years
    # ahead for the next run of a rare schedule: this is called every second.
    end_day = end.astimezone(_tz.utc).date()
    last_day = end_day + timedelta(days=2) if end_day < date.max - timedelta(days=2) else date.max
    for fire in _fire_times(schedule, timezone, start, last_day):
        if fire > end:
            break
        due.append(fire)
    return due


def times_in(schedule: Schedule, timezone: str, since: datetime, until: datetime, limit: int) -> list[datetime]:
    """The fire times t with since <= t < until (UTC), oldest first, at most `limit` of them:
    the runs of a past window (a backfill, a catch-up), under the same DST rule as `next_runs`.
    Half-open, so consecutive windows never share a run."""
    end_day = until.astimezone(_tz.utc).date()
    last_day = end_day + timedelta(days=2) if end_day < date.max - timedelta(days=2) else date.max
    out = []
    for fire in _fire_times(schedule, timezone, since - timedelta(microseconds=1), last_day):
        if fire >= until or len(out) >= limit:
            break
        out.append(fire)
    return out


def _fire_times(schedule: Schedule, timezone: str, after: datetime, last_day: date = date.max):
    """Yield fire times after `after`, in order. Local wall times are walked in order and
    mapped with fold=0; that mapping only ever moves forward in UTC, so the output is sorted."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("'after' must be a timezone-aware datetime")
    zone = _zone(timezone)
    start_wall = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0, fold=0)
    for wall in _wall_times(schedule, start_wall, last_day):
        fire = _wall_to_utc(wall, zone)
        if fire is not None and fire > after:
            yield fire


def _wall_to_utc(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime | None:
    """UTC instant of a local wall time under EventBridge's DST rule: None inside a
    spring-forward gap; the first occurrence (fold=0) of a repeated fall-back time."""
    fire = wall.replace(tzinfo=zone, fold=0).astimezone(_tz.utc)
    if fire.astimezone(zone).replace(tzinfo=None) != wall:
        return None  # the wall time does not exist: it round-trips to a different one
    return fire


def _wall_times(schedule: Schedule, start: datetime, last_day: date):
    """Matching local wall-clock minutes >= start, day by day up to `last_day`, skipping
    unmatched months."""
    day, last_hit = start.date(), start.date()
    while day <= last_day and (day - last_hit).days <= SEARCH_YEARS * 366:
        if day.month not in schedule.month:
            if (day.year, day.month) == (date.max.year, 12):
                return
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)  # 1st of next month
            continue
        if _day_matches(schedule, day):
            last_hit = day
            for h in schedule.hour:
                if day == start.date() and h < start.hour:
                    continue  # cheap skip of the part of the first day already gone
                for m in schedule.minute:
                    wall = datetime.combine(day, time(h, m))
                    if wall >= start:
                        yield wall
        if day == date.max:
            return
        day += timedelta(days=1)


def _day_matches(schedule: Schedule, day: date) -> bool:
    rule = schedule.day_rule
    in_dom = rule in ("dom", "either") and day.day in schedule.day_of_month
    # Python's weekday() has Monday=0; cron has Sunday=0, Monday=1.
    in_dow = rule in ("dow", "either") and (day.weekday() + 1) % 7 in schedule.day_of_week
    return rule == "every" or in_dom or in_dow
