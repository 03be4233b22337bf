"""croniter as the independent oracle of our cron predictions (issue 21; docs/architecture.md,
"croniter as the oracle of the cron tests").

For generated standard 5-field expressions and IANA zones (the strategies of
test_schedules_property.py, which start near each zone's DST changes), croniter iterates from a
zoneinfo-aware start, and its times must equal `next_runs`. So must the union of croniter's
times for each `cron(...)` expression `to_aws` emits. Only these documented differences between
cron daemons (croniter) and EventBridge Scheduler (us) are filtered, each where it is made:

- croniter's default day rule ORs the two day fields unless one is literally `*`; Vixie cron (and
  we) AND them when either *starts with* `*` (`*/1`). croniter's `implement_cron_bug=True` is that
  rule, so it is an option, not a filter (`CRON_BUG`).
- the OR split: both we and croniter fire on days matching day-of-month OR day-of-week when
  both are restricted; AWS cannot, so `to_aws` emits two expressions, and on a day matching
  both, both fire at the same minute: their croniter times are merged and deduped.
- fall-back: croniter fires a repeated wall time twice, Scheduler once: drop the fold=1 copy.
- spring-forward: croniter moves a wall time inside the gap to the first instant after it
  (unless the hour field is `*`), Scheduler skips it: drop that moved time.
- two spellings croniter reads its own way: an equal-bounds range (`5-5`, `0-0/2`) as the whole
  field (its reading of `JAN-JAN` as a full cycle), and `7/n` in day-of-week as a range wrapping
  round from Sunday; Vixie cron and we read the one value (Sunday for `7/n`). Such a token is
  respelt as that value before croniter sees it (`croniter_spelling`).
- `?`: croniter reads it as `*`, AWS as "no value"; in a `cron(...)` the other day field carries
  the restriction, so reading `?` as `*` under the AND rule is what AWS means (`aws_as_croniter`).
The test_croniter_differs_* tests pin each difference, so a croniter release that changes one
fails here instead of silently widening a filter.
"""
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import HealthCheck, example, given, settings

from chalicelib.core.errors import InvalidSchedule
from chalicelib.core.schedules import next_runs, parse, to_aws
from tests.unit.test_schedules_property import RUNS, expressions, parsed, zone_and_instant

CRON_BUG = {"implement_cron_bug": True}
MINUTE = timedelta(minutes=1)


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def croniter_fire_times(expression, zone_name, after, count):
    """The first `count` times croniter fires `expression` in the zone strictly after `after`,
    less the DST firings Scheduler does not make (in UTC, like `next_runs`)."""
    zone = ZoneInfo(zone_name)
    it = croniter(expression, after.astimezone(zone), **CRON_BUG)
    out = []
    # A dropped time lies in a repeated hour or a gap: at most 60 per DST change (`* * * * *`).
    for _ in range(count + 3 * 60):
        t = it.get_next(datetime)
        if not (second_of_repeated_time(t) or moved_out_of_gap(expression, t)):
            out.append(t.astimezone(timezone.utc))
            if len(out) == count:
                return out
    raise AssertionError(f"croniter dropped too many times for {expression!r} in {zone_name}")


def second_of_repeated_time(t):
    """Fall-back: the second (fold=1) occurrence of a wall time that occurs twice. croniter
    fires both; Scheduler "runs only once" (schedules.py docstring), and we keep the first."""
    return t.fold == 1 and t.replace(fold=0).utcoffset() != t.utcoffset()


def moved_out_of_gap(expression, t):
    """Spring-forward: croniter turns a matching wall time that does not exist (say 02:30 on
    the New York change) into the first instant after the gap (03:00), except when the hour
    field is `*`; Scheduler skips such a time. Dropped only when `t` is that first instant AND
    its wall time is not one croniter fires on a plain (zone-less) wall clock, so a real
    match at 03:00 stays."""
    minute_before = (t.astimezone(timezone.utc) - MINUTE).astimezone(t.tzinfo)
    if minute_before.utcoffset() >= t.utcoffset():  # the clock did not jump forward at t
        return False
    wall = t.replace(tzinfo=None, fold=0)
    return croniter(expression, wall - MINUTE, **CRON_BUG).get_next(datetime) != wall


EQUAL_RANGE = re.compile(r"(\d+)-(\d+)(/\d+)?")
DOW = 4


def croniter_spelling(expression):
    """The same schedule spelt so croniter reads it as Vixie cron (and we) do; only these two
    tokens are respelt, everything else reaches croniter exactly as written:
    - `a-a` or `a-a/n` -> `a`: croniter reads an equal-bounds range as the whole field;
    - `7/n` in day-of-week -> `7`: croniter reads it as a range wrapping from 7 (Sunday) round
      to 6, so `7/2` is SUN,TUE,THU,SAT; we read it as 7 to the field's end, i.e. Sunday,
      just as croniter itself reads `59/15` in minutes as 59."""
    if expression.startswith("@"):
        return expression

    def respell(token, field):
        equal = EQUAL_RANGE.fullmatch(token)
        if equal and int(equal[1]) == int(equal[2]):
            return equal[1]
        if field == DOW and re.fullmatch(r"7/\d+", token):
            return "7"
        return token

    fields = expression.split()
    return " ".join(",".join(respell(t, i) for t in f.split(",")) for i, f in enumerate(fields))


def aws_as_croniter(aws_expression):
    """`cron(m h dom month dow year)` -> croniter's `m h dom month dow`. Our year is always
    `*`; `?` stays, since croniter reads it as `*` (see the module docstring); day-of-week
    is written as names (SUN-SAT), so AWS's 1 = SUN numbering never reaches croniter."""
    *fields, year = aws_expression[len("cron("):-1].split(" ")
    assert year == "*", aws_expression
    return " ".join(fields)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(expression=expressions, where=zone_and_instant())
# The derived examples meet repeated hours often but gaps at a restricted hour rarely: these
# put one moved time from each kind of gap (an hour, a whole day) into every run.
@example(expression="15,45 2 * * *", where=("America/New_York", None, utc(2024, 3, 10, 5)))
@example(expression="0 9 * * *", where=("Pacific/Apia", None, utc(2011, 12, 28, 12)))  # no Dec 30
def test_next_runs_match_croniter(expression, where):
    zone, _change, after = where
    schedule = parsed(expression)
    predicted = next_runs(schedule, zone, after, RUNS)
    expected = croniter_fire_times(croniter_spelling(expression), zone, after, RUNS)
    assert predicted == expected, (expression, zone, after)
    # The OR split: each AWS expression's times, merged and deduped (both fire on a day that
    # matches both), are the same times.
    aws = to_aws(schedule)
    merged = sorted({t for e in aws
                     for t in croniter_fire_times(aws_as_croniter(e), zone, after, RUNS)})
    assert merged[:RUNS] == predicted, (expression, aws, zone, after)


# -- each filtered difference, pinned ---------------------------------------------------------

NEW_YORK = "America/New_York"


def croniter_utc(expression, zone_name, after, count, **options):
    it = croniter(expression, after.astimezone(ZoneInfo(zone_name)), **options)
    return [it.get_next(datetime).astimezone(timezone.utc) for _ in range(count)]


def test_croniter_differs_in_the_day_rule_unless_told_to_follow_vixie_cron():
    after = utc(2024, 1, 1)  # a Monday
    mondays = [utc(2024, 1, d, 9) for d in (1, 8, 15)]
    assert next_runs(parse("0 9 */1 * MON"), "UTC", after - MINUTE, 3) == mondays
    assert croniter_utc("0 9 */1 * MON", "UTC", after - MINUTE, 3, **CRON_BUG) == mondays
    every_day = [utc(2024, 1, d, 9) for d in (1, 2, 3)]
    assert croniter_utc("0 9 */1 * MON", "UTC", after - MINUTE, 3) == every_day


def test_croniter_differs_by_firing_a_repeated_time_twice():
    after = utc(2024, 11, 3, 4)  # 00:00 EDT; 01:30 comes twice
    ours = [utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)]  # 01:30 EDT, then the next day
    assert croniter_utc("30 1 * * *", NEW_YORK, after, 2) == [utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 6, 30)]
    assert next_runs(parse("30 1 * * *"), NEW_YORK, after, 2) == ours
    assert croniter_fire_times("30 1 * * *", NEW_YORK, after, 2) == ours


def test_croniter_differs_by_moving_a_time_in_the_gap_to_its_end():
    after = utc(2024, 3, 10, 5)  # 00:00 EST; 02:00-02:59 does not exist
    assert croniter_utc("30 2 * * *", NEW_YORK, after, 2) == [utc(2024, 3, 10, 7), utc(2024, 3, 11, 6, 30)]
    assert next_runs(parse("30 2 * * *"), NEW_YORK, after, 1) == [utc(2024, 3, 11, 6, 30)]
    # ... but not when the hour is `*`: then croniter skips the gap like Scheduler.
    hourly = next_runs(parse("30 * * * *"), NEW_YORK, after, 3)
    assert croniter_utc("30 * * * *", NEW_YORK, after, 3) == hourly
    # A real match at the gap's end stays.
    at_three = [utc(2024, 3, 10, 7), utc(2024, 3, 10, 7, 30)]  # 03:00 and 03:30 EDT
    assert croniter_fire_times("0,30 2,3 * * *", NEW_YORK, after, 2) == at_three


def test_croniter_differs_by_reading_an_equal_bounds_range_as_the_whole_field():
    after = utc(2024, 3, 1)  # a Friday
    assert croniter_utc("0 9 * * 0-0", "UTC", after, 1) == [utc(2024, 3, 1, 9)]
    assert next_runs(parse("0 9 * * 0-0"), "UTC", after, 1) == [utc(2024, 3, 3, 9)]  # Sunday
    assert croniter_utc(croniter_spelling("0 9 * * 0-0"), "UTC", after, 1) == [utc(2024, 3, 3, 9)]


def test_croniter_differs_by_reading_seven_slash_n_in_day_of_week_as_a_wrapping_range():
    after = utc(2024, 3, 1)  # a Friday
    assert croniter_utc("0 9 * * 7/2", "UTC", after, 1) == [utc(2024, 3, 2, 9)]  # Saturday
    assert next_runs(parse("0 9 * * 7/2"), "UTC", after, 1) == [utc(2024, 3, 3, 9)]  # Sunday
    assert croniter_utc(croniter_spelling("0 9 * * 7/2"), "UTC", after, 1) == [utc(2024, 3, 3, 9)]


def test_croniter_spelling_changes_only_those_two_tokens():
    assert croniter_spelling("5-5 1-3 2-2/4 7/2 0-0,3-3,7/3,1-7/3") == "5 1-3 2 7/2 0,3,7,1-7/3"
    assert croniter_spelling("@daily") == "@daily"


def test_croniter_differs_by_reading_question_mark_as_star():
    after = utc(2024, 1, 1)
    assert croniter_utc("0 9 ? * MON", "UTC", after, 2) == croniter_utc("0 9 * * MON", "UTC", after, 2)
    with pytest.raises(InvalidSchedule):  # '?' is AWS syntax, which we refuse
        parse("0 9 ? * MON")
