"""The scheduler emulator's AWS cron evaluator (local/scheduler_emulator.py) on exact examples,
plus a property check against a brute-force evaluator (adapted from test_schedules_property.py)
that walks UTC minute by minute."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.scheduler_emulator import aws_time, parse_aws_cron


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def due(expression, zone, start, end):
    return parse_aws_cron(expression).due_between(zone, start, end)


def first(expression, zone, after, n):
    times = parse_aws_cron(expression).fire_times(zone, after)
    return [next(times) for _ in range(n)]


# -- fields ------------------------------------------------------------------------------------

def test_day_of_week_numbers_start_at_sunday():
    # 2027-03-01 is a Monday.
    assert first("cron(0 12 ? * 2 *)", "UTC", utc(2027, 3, 1), 2) == [
        utc(2027, 3, 1, 12), utc(2027, 3, 8, 12)]
    assert first("cron(0 12 ? * 1 *)", "UTC", utc(2027, 3, 1), 1) == [utc(2027, 3, 7, 12)]   # Sunday
    assert first("cron(0 12 ? * 7 *)", "UTC", utc(2027, 3, 1), 1) == [utc(2027, 3, 6, 12)]   # Saturday


def test_day_names_are_the_same_days_as_numbers_any_case():
    week = (utc(2027, 3, 1), utc(2027, 3, 15))
    assert due("cron(0 9 ? * MON-FRI *)", "UTC", *week) == due("cron(0 9 ? * 2-6 *)", "UTC", *week)
    assert len(due("cron(0 9 ? * MON-FRI *)", "UTC", *week)) == 10
    assert due("cron(0 9 ? * sun,SAT *)", "UTC", *week) == due("cron(0 9 ? * 1,7 *)", "UTC", *week)
    assert due("cron(0 9 ? * SUN *)", "UTC", *week) == [utc(2027, 3, 7, 9), utc(2027, 3, 14, 9)]


def test_question_mark_in_either_day_field():
    assert first("cron(0 0 15 * ? *)", "UTC", utc(2027, 1, 20), 2) == [utc(2027, 2, 15), utc(2027, 3, 15)]
    assert first("cron(0 0 ? * * *)", "UTC", utc(2027, 1, 20), 2) == [utc(2027, 1, 21), utc(2027, 1, 22)]


def test_lists_ranges_and_steps():
    hour = (utc(2027, 1, 1, 8, 59), utc(2027, 1, 1, 10, 59))
    assert [t.minute for t in due("cron(5,35 9 * * ? *)", "UTC", *hour)] == [5, 35]
    assert [t.minute for t in due("cron(10/20 9 * * ? *)", "UTC", *hour)] == [10, 30, 50]  # a/n runs to 59
    assert [(t.hour, t.minute) for t in due("cron(0/30 9-10 * * ? *)", "UTC", *hour)] == [
        (9, 0), (9, 30), (10, 0), (10, 30)]
    assert [t.minute for t in due("cron(*/15 9 * * ? *)", "UTC", *hour)] == [0, 15, 30, 45]
    jan = (utc(2026, 12, 31, 23), utc(2027, 1, 31))
    assert [t.day for t in due("cron(0 0 1-10/3 * ? *)", "UTC", *jan)] == [1, 4, 7, 10]
    year = (utc(2026, 12, 31), utc(2027, 12, 31))
    assert [t.month for t in due("cron(0 0 1 JAN,jul ? *)", "UTC", *year)] == [1, 7]
    assert [t.month for t in due("cron(0 0 1 */5 ? *)", "UTC", *year)] == [1, 6, 11]
    assert [t.month for t in due("cron(0 0 1 2-4 ? *)", "UTC", *year)] == [2, 3, 4]


def test_days_a_month_lacks_are_skipped_and_feb_29_waits_for_a_leap_year():
    assert first("cron(0 0 31 * ? *)", "UTC", utc(2027, 1, 31, 1), 2) == [utc(2027, 3, 31), utc(2027, 5, 31)]
    assert first("cron(0 0 29 2 ? *)", "UTC", utc(2027, 1, 1), 2) == [utc(2028, 2, 29), utc(2032, 2, 29)]
    assert list(parse_aws_cron("cron(0 0 30 2 ? *)").fire_times("UTC", utc(2027, 1, 1))) == []


def test_year_field():
    def every(expression, after):
        return list(parse_aws_cron(expression).fire_times("UTC", after))
    assert every("cron(0 0 1 1 ? 2028)", utc(2027, 6, 1)) == [utc(2028, 1, 1)]
    assert every("cron(0 0 1 1 ? 2028)", utc(2028, 6, 1)) == []
    assert [t.year for t in every("cron(0 0 1 1 ? 2027-2033/3)", utc(2026, 1, 1))] == [2027, 2030, 2033]
    assert [t.year for t in every("cron(0 0 1 1 ? 2030,2028)", utc(2026, 1, 1))] == [2028, 2030]


def test_quartz_extensions_l_w_and_hash():
    year = (utc(2027, 1, 1), utc(2027, 12, 31))
    assert [t.day for t in due("cron(0 0 L * ? *)", "UTC", *year)][:3] == [31, 28, 31]
    assert [t.day for t in due("cron(0 0 L-2 2 ? *)", "UTC", *year)] == [26]
    assert due("cron(0 0 L-28 2 ? *)", "UTC", *year) == []                       # before the 1st
    # 2027-05-15 is a Saturday -> Friday 14th; 2027-08-01 a Sunday, 1W -> Monday 2nd;
    # 2027-05-01 a Saturday, 1W -> Monday 3rd (never the previous month).
    assert due("cron(0 0 15W 5 ? *)", "UTC", *year) == [utc(2027, 5, 14)]
    assert due("cron(0 0 1W 8 ? *)", "UTC", *year) == [utc(2027, 8, 2)]
    assert due("cron(0 0 1W 5 ? *)", "UTC", *year) == [utc(2027, 5, 3)]
    assert due("cron(0 0 LW 7 ? *)", "UTC", *year) == [utc(2027, 7, 30)]          # 31st is a Saturday
    assert due("cron(0 0 ? 3 6#3 *)", "UTC", *year) == [utc(2027, 3, 19)]        # third Friday
    assert due("cron(0 0 ? 3 MON#5 *)", "UTC", *year) == [utc(2027, 3, 29)]
    assert due("cron(0 0 ? 2 MON#5 *)", "UTC", *year) == []                       # no fifth Monday
    assert due("cron(0 0 ? 3 2L *)", "UTC", *year) == [utc(2027, 3, 29)]          # last Monday


@pytest.mark.parametrize("expression", [
    "rate(5 minutes)", "at(2027-01-01T00:00:00)", "0 9 * * ? *", "cron(0 9 * * ?)", "cron(0 9 * * ? * *)",
    "cron(0 9 * * * *)", "cron(0 9 ? * ? *)", "cron(0 9 1 * MON *)", "cron(60 9 * * ? *)",
    "cron(0 24 * * ? *)", "cron(0 9 0 * ? *)", "cron(0 9 * 13 ? *)", "cron(0 9 ? * 0 *)", "cron(0 9 ? * 8 *)",
    "cron(0 9 ? * */2 *)", "cron(0 9 W * ? *)", "cron(0 9 L-x * ? *)", "cron(0 9 ? * 2#x *)",
    "cron(0 9 * * ? 2200)", "cron(0 9 * * ? 1969)", "cron(30-10 9 * * ? *)", "cron(0/0 9 * * ? *)",
    "cron(0 9 ? * MON#6 *)", "cron(x 9 * * ? *)", "cron(0 9 * FOO ? *)",
])
def test_what_aws_refuses_is_refused_cleanly(expression):
    with pytest.raises(ValueError):
        parse_aws_cron(expression)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789*/-,?LW# JANMONSUNjanmon", max_size=30))
def test_parse_accepts_or_raises_value_error_never_anything_else(fields):
    try:
        cron = parse_aws_cron(f"cron({fields})")
    except ValueError:
        return
    t = cron.next_after("Europe/London", utc(2027, 3, 27).timestamp())
    assert t is None or t > utc(2027, 3, 27).timestamp()


# -- time zones ----------------------------------------------------------------------------------

def test_europe_london_across_both_changes():
    # BST starts 2027-03-28 and ends 2027-10-31: 09:00 local is 09:00Z, then 08:00Z, then 09:00Z.
    assert due("cron(0 9 * * ? *)", "Europe/London", utc(2027, 3, 27), utc(2027, 3, 29)) == [
        utc(2027, 3, 27, 9), utc(2027, 3, 28, 8)]
    assert due("cron(0 9 * * ? *)", "Europe/London", utc(2027, 10, 30), utc(2027, 11, 1)) == [
        utc(2027, 10, 30, 8), utc(2027, 10, 31, 9)]


def test_spring_forward_gap_is_skipped_not_moved():
    # London 01:00 -> 02:00 on 2027-03-28: 01:30 does not exist that day.
    assert due("cron(30 1 * * ? *)", "Europe/London", utc(2027, 3, 27), utc(2027, 3, 30)) == [
        utc(2027, 3, 27, 1, 30), utc(2027, 3, 29, 0, 30)]
    # New York 02:00 -> 03:00 on 2027-03-14: hourly skips 02:00, keeps 01:00 and 03:00.
    assert due("cron(0 * * * ? *)", "America/New_York", utc(2027, 3, 14, 5, 30), utc(2027, 3, 14, 7, 30)) == [
        utc(2027, 3, 14, 6), utc(2027, 3, 14, 7)]   # 01:00 EST, 03:00 EDT


def test_fall_back_repeated_time_fires_once_at_the_first_occurrence():
    # London 02:00 BST -> 01:00 GMT on 2027-10-31: 01:30 happens at 00:30Z and 01:30Z; fires at 00:30Z.
    assert due("cron(30 1 * * ? *)", "Europe/London", utc(2027, 10, 30, 12), utc(2027, 11, 1)) == [
        utc(2027, 10, 31, 0, 30)]
    # Every 30 minutes in New York on 2027-11-07: 01:00 and 01:30 EDT, then 02:00 EST.
    night = (utc(2027, 11, 7, 4, 59), utc(2027, 11, 7, 7, 30))
    assert due("cron(*/30 * * * ? *)", "America/New_York", *night) == [
        utc(2027, 11, 7, 5), utc(2027, 11, 7, 5, 30), utc(2027, 11, 7, 7), utc(2027, 11, 7, 7, 30)]


def test_lord_howe_half_hour_shifts():
    zone = "Australia/Lord_Howe"
    # 2027-10-03 02:00 (+10:30) -> 02:30 (+11:00): 02:00 and 02:15 don't exist.
    assert due("cron(*/15 2 * * ? *)", zone, utc(2027, 10, 2, 12), utc(2027, 10, 3, 12)) == [
        utc(2027, 10, 2, 15, 30), utc(2027, 10, 2, 15, 45)]
    # 2027-04-04 02:00 (+11:00) -> 01:30 (+10:30): 01:45 happens twice, fires at the first (14:45Z).
    assert due("cron(45 1 * * ? *)", zone, utc(2027, 4, 3), utc(2027, 4, 4, 12)) == [utc(2027, 4, 3, 14, 45)]
    assert due("cron(0 9 * * ? *)", zone, utc(2027, 4, 2), utc(2027, 4, 5)) == [
        utc(2027, 4, 2, 22), utc(2027, 4, 3, 22, 30), utc(2027, 4, 4, 22, 30)]   # +11:00, then +10:30


def test_asia_kolkata_half_hour_offset_no_dst():
    assert first("cron(0 9 * * ? *)", "Asia/Kolkata", utc(2027, 3, 27), 3) == [
        utc(2027, 3, 27, 3, 30), utc(2027, 3, 28, 3, 30), utc(2027, 3, 29, 3, 30)]
    # Local midnight on the 1st is the previous day in UTC.
    assert first("cron(0 0 1 * ? *)", "Asia/Kolkata", utc(2027, 1, 1), 1) == [utc(2027, 1, 31, 18, 30)]


def test_strictly_after_and_zone_objects():
    cron = parse_aws_cron("cron(0 9 * * ? *)")
    assert next(cron.fire_times(ZoneInfo("UTC"), utc(2027, 1, 1, 9))) == utc(2027, 1, 2, 9)
    assert next(cron.fire_times("UTC", utc(2027, 1, 1, 8, 59, 59))) == utc(2027, 1, 1, 9)
    assert aws_time(utc(2026, 11, 28, 9).timestamp()) == "2026-11-28T09:00:00Z"


# -- property: equal to a brute-force walk over UTC minutes ----------------------------------------

# The brute-force reading of one AWS field is shared with the schedules property test.
from tests.unit.test_schedules_property import AWS_DAYS, AWS_MONTHS, aws_field as naive_field  # noqa: E402


def naive_due(expression, zone_name, start, end):
    minute, hour, dom, month, dow, year = expression[5:-1].split(" ")
    f = [naive_field(minute, 0, 59), naive_field(hour, 0, 23), naive_field(dom, 1, 31),
         naive_field(month, 1, 12, AWS_MONTHS), naive_field(dow, 1, 7, AWS_DAYS),
         naive_field(year, 1970, 2199)]
    zone, out = ZoneInfo(zone_name), []
    t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t <= end:
        lt = t.astimezone(zone)
        day = lt.day in f[2] if f[2] is not None else lt.isoweekday() % 7 + 1 in f[4]
        if (lt.fold == 0 and day and lt.month in f[3] and lt.year in f[5] and lt.hour in f[1]
                and lt.minute in f[0]):
            out.append(t)
        t += timedelta(minutes=1)
    return out


def part(lo, hi, names=()):
    num = st.integers(lo, hi)
    val = st.one_of(num.map(str), st.sampled_from(names)) if names else num.map(str)
    rng = st.tuples(num, num).map(sorted).map(lambda ab: f"{ab[0]}-{ab[1]}")
    step = st.tuples(num, st.integers(1, hi - lo + 1)).map(lambda p: f"{p[0]}/{p[1]}")
    return st.lists(st.one_of(val, rng, step), min_size=1, max_size=3).map(",".join)


def whole(lo, hi, names=()):
    return st.one_of(st.just("*"), part(lo, hi, names))


expressions = st.tuples(
    whole(0, 59), whole(0, 23), st.booleans(), whole(1, 31), whole(1, 12, tuple(AWS_MONTHS)),
    st.one_of(st.just("*"), st.lists(st.one_of(st.integers(1, 7).map(str), st.sampled_from(tuple(AWS_DAYS))),
                                     min_size=1, max_size=3).map(",".join)),
    st.sampled_from(["*", "*", "2027", "2026-2027", "2027/2"]),
).map(lambda f: f"cron({f[0]} {f[1]} {f[3] if f[2] else '?'} {f[4]} {'?' if f[2] else f[5]} {f[6]})")

CHANGES = [("Europe/London", utc(2027, 3, 28, 1)), ("Europe/London", utc(2027, 10, 31, 1)),
           ("America/New_York", utc(2027, 3, 14, 7)), ("America/New_York", utc(2027, 11, 7, 6)),
           ("Australia/Lord_Howe", utc(2027, 4, 3, 15)), ("Australia/Lord_Howe", utc(2027, 10, 2, 15, 30)),
           ("Asia/Kolkata", utc(2027, 6, 30, 18, 30)), ("UTC", utc(2027, 12, 31, 23))]


@settings(max_examples=60, deadline=None)
@given(expression=expressions, where=st.sampled_from(CHANGES), offset=st.integers(-36 * 60, 60))
def test_matches_a_brute_force_walk_over_utc_minutes(expression, where, offset):
    zone, change = where
    start = change + timedelta(minutes=offset, seconds=30)
    end = change + timedelta(hours=12)
    assert due(expression, zone, start, end) == naive_due(expression, zone, start, end), expression
