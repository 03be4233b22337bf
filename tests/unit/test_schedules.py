"""Cron parsing, AWS conversion and fire-time prediction (chalicelib/core/schedules.py)."""
import dataclasses
import time
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.core import schedules
from chalicelib.core.errors import InvalidInput, InvalidSchedule
from chalicelib.core.schedules import check_timezone, due_between, next_run, next_runs, parse, to_aws


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def runs(expression, zone, after, count=5):
    return next_runs(parse(expression), zone, after, count)


# -- conversion to AWS ----------------------------------------------------------------------

CONVERSIONS = [
    # plain times: DOM '*' and DOW '?' when no day is restricted
    ("0 9 * * *", ["cron(0 9 * * ? *)"]),
    ("* * * * *", ["cron(* * * * ? *)"]),
    ("30 17 * * *", ["cron(30 17 * * ? *)"]),
    # steps, ranges, lists
    ("*/15 * * * *", ["cron(0/15 * * * ? *)"]),
    ("5/20 * * * *", ["cron(5/20 * * * ? *)"]),
    ("10-50/5 * * * *", ["cron(10-50/5 * * * ? *)"]),
    ("0 */6 * * *", ["cron(0 0/6 * * ? *)"]),
    ("0 1-5 * * *", ["cron(0 1-5 * * ? *)"]),
    ("0,30 8-10,14 * * *", ["cron(0,30 8-10,14 * * ? *)"]),
    ("0 0 */2 * *", ["cron(0 0 1/2 * ? *)"]),
    ("0 0 1,15 * *", ["cron(0 0 1,15 * ? *)"]),
    ("0 0 1 */3 *", ["cron(0 0 1 1/3 ? *)"]),
    ("0-59/1 * * * *", ["cron(* * * * ? *)"]),
    # month names, any case
    ("0 0 1 JAN-MAR,dec *", ["cron(0 0 1 1-3,12 ? *)"]),
    ("0 0 1 jul *", ["cron(0 0 1 7 ? *)"]),
    # day-of-week: standard 0/7 = Sunday becomes AWS SUN (AWS 1); no '/' allowed there
    ("0 9 * * 1-5", ["cron(0 9 ? * MON-FRI *)"]),
    ("0 9 * * MON-FRI", ["cron(0 9 ? * MON-FRI *)"]),
    ("0 9 * * 0", ["cron(0 9 ? * SUN *)"]),
    ("0 9 * * 7", ["cron(0 9 ? * SUN *)"]),
    ("0 9 * * 6,0", ["cron(0 9 ? * SUN,SAT *)"]),
    ("0 9 * * sat,sun", ["cron(0 9 ? * SUN,SAT *)"]),
    ("0 9 * * 5-7", ["cron(0 9 ? * SUN,FRI,SAT *)"]),
    ("0 9 * * FRI-SUN", ["cron(0 9 ? * SUN,FRI,SAT *)"]),
    ("0 9 * * */2", ["cron(0 9 ? * SUN,TUE,THU,SAT *)"]),
    ("0 9 * * 0-6", ["cron(0 9 * * ? *)"]),
    ("0 9 * * 0-7", ["cron(0 9 * * ? *)"]),
    # both day fields restricted: standard cron ORs them, AWS needs two schedules
    ("0 9 1 * MON", ["cron(0 9 1 * ? *)", "cron(0 9 ? * MON *)"]),
    ("0 12 1,15 * 1-5", ["cron(0 12 1,15 * ? *)", "cron(0 12 ? * MON-FRI *)"]),
    ("0 0 13 * 5", ["cron(0 0 13 * ? *)", "cron(0 0 ? * FRI *)"]),
    # ... unless one side matches every day anyway (Vixie: '1-31' OR Monday is every day)
    ("0 0 1-31 * 1", ["cron(0 0 * * ? *)"]),
    # ... or the day-of-month side can never happen on its own (Feb 31 OR Monday = Monday)
    ("0 0 31 2 MON", ["cron(0 0 ? 2 MON *)"]),
    # a '*'-step day field with '*' in the other field is just that field
    ("0 0 * * */3", ["cron(0 0 ? * SUN,WED,SAT *)"]),
    # macros
    ("@hourly", ["cron(0 * * * ? *)"]),
    ("@daily", ["cron(0 0 * * ? *)"]),
    ("@midnight", ["cron(0 0 * * ? *)"]),
    ("@weekly", ["cron(0 0 ? * SUN *)"]),
    ("@monthly", ["cron(0 0 1 * ? *)"]),
    ("@yearly", ["cron(0 0 1 1 ? *)"]),
    ("@ANNUALLY", ["cron(0 0 1 1 ? *)"]),
    # leap day is allowed (it fires every four years)
    ("0 0 29 2 *", ["cron(0 0 29 2 ? *)"]),
]


@pytest.mark.parametrize("expression, expected", CONVERSIONS)
def test_to_aws(expression, expected):
    assert to_aws(parse(expression)) == expected


@pytest.mark.parametrize("expression, expected", CONVERSIONS)
def test_to_aws_output_passes_an_independent_aws_validator(expression, expected):
    from aws_cron_expression_validator import validator
    for aws in to_aws(parse(expression)):
        validator.AWSCronExpressionValidator.validate(aws[len("cron("):-1])


def test_expression_keeps_the_users_text_with_whitespace_normalised():
    assert parse("  0   9\t* *  MON ").expression == "0 9 * * MON"
    assert parse("@daily").expression == "@daily"


def test_schedule_is_frozen_and_names_mean_the_same_as_numbers():
    schedule = parse("0 9 * * 1-5")
    assert schedule.day_of_week == parse("0 9 * * MON-FRI").day_of_week == (1, 2, 3, 4, 5)
    assert parse("0 0 1 JAN,jul *").month == (1, 7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.expression = "x"
    assert hash(schedule) == hash(parse("0 9 * * 1-5"))


# -- errors ---------------------------------------------------------------------------------

BAD = [
    # (input, words the message must contain)
    ("", ["empty", "'0 9 * * *'"]),
    ("   ", ["empty"]),
    (None, ["string", "'0 9 * * *'"]),
    (5, ["string"]),
    (["0", "9"], ["string"]),
    ("hello", ["not a cron expression", "'0 9 * * *'"]),
    ("0 9 * *", ["4 field", "5-field", "'0 9 * * *'"]),
    ("0 0 9 * * ?", ["6 field", "5-field", "'0 9 * * *'"]),
    ("0 0 9 * * ? *", ["7 field", "5-field"]),
    ("0 0 9 * * MON", ["6 field", "5-field"]),
    ("cron(0 9 * * ? *)", ["AWS syntax", "5-field"]),
    ("rate(5 minutes)", ["AWS syntax"]),
    ("60 * * * *", ["minute", "0-59"]),
    ("0 24 * * *", ["hour", "0-23"]),
    ("0 0 0 * *", ["day-of-month", "1-31"]),
    ("0 0 32 * *", ["day-of-month", "1-31"]),
    ("0 0 1 13 *", ["month", "1-12"]),
    ("0 0 1 0 *", ["month", "1-12"]),
    ("0 0 * * 8", ["day-of-week", "0-7"]),
    ("99999999999999999999 * * * *", ["minute", "0-59"]),
    ("5-1 * * * *", ["backwards", "'1-5'"]),
    ("0 22-2 * * *", ["backwards", "22-23,0-2"]),
    ("0 0 * * SAT-MON", ["backwards"]),
    ("*/0 * * * *", ["step", "at least 1"]),
    ("0 0 1-10/0 * *", ["step", "at least 1"]),
    ("@reboot", ["@reboot", "not supported"]),
    ("@fortnightly", ["not a known shortcut", "@daily"]),
    ("0 0 ? * MON", ["'?'", "not supported", "'*'"]),
    ("0 0 * * ?", ["'?'", "not supported"]),
    ("0 0 L * *", ["L, W or #", "not support"]),
    ("0 0 15W * *", ["L, W or #"]),
    ("0 0 LW * *", ["L, W or #"]),
    ("0 0 * * 5L", ["L, W or #"]),
    ("0 0 * * MON#2", ["L, W or #"]),
    ("0 0 * * 1#2", ["L, W or #"]),
    ("0 0 * * FOO", ["'FOO'", "SUN-SAT"]),
    ("0 0 1 FOO *", ["'FOO'", "JAN-DEC"]),
    ("JAN * * * *", ["'JAN'", "0-59"]),
    ("a b c d e", ["not a number"]),
    ("1,,2 * * * *", ["not valid cron syntax"]),
    ("*-5 * * * *", ["not valid cron syntax"]),
    ("1-2-3 * * * *", ["not valid cron syntax"]),
    ("+5 * * * *", ["not valid cron syntax"]),
    ("\u0663 * * * *", ["not valid cron syntax"]),  # Arabic-Indic digit three
    ("0 9 * * *" + " " * 200, ["limit is 200"]),
    ("0," * 100 + "1 * * * *", ["limit is 200"]),
    # never fires
    ("0 0 31 2 *", ["never run", "February", "29"]),
    ("0 0 30 2 *", ["never run", "February"]),
    ("0 0 30,31 2 *", ["never run"]),
    ("0 0 31 4,6,9,11 *", ["never run", "April", "30"]),
    # Vixie cron ANDs the day fields when one starts with '*': AWS can't say that
    ("0 0 */2 * MON", ["ambiguous", "BOTH", "EITHER"]),
    ("0 0 1 * */2", ["ambiguous"]),
]


@pytest.mark.parametrize("expression, words", BAD, ids=[repr(b[0])[:40] for b in BAD])
def test_bad_schedules_are_rejected_with_a_helpful_message(expression, words):
    with pytest.raises(InvalidSchedule) as caught:
        parse(expression)
    error = caught.value
    assert error.field == "schedule"
    assert error.code == "invalid_schedule" and error.status == 400
    for word in words:
        assert word in error.message, (word, error.message)
    assert error.to_dict()["error"]["field"] == "schedule"


def test_field_count_message_shows_the_5_field_form():
    with pytest.raises(InvalidSchedule) as caught:
        parse("0 0 9 * * ?")
    assert "minute hour day-of-month month day-of-week" in caught.value.message


def test_expressions_that_fire_in_some_month_are_accepted():
    assert parse("0 0 31 1,2 *").day_of_month == (31,)  # January 31st exists
    assert parse("0 0 29 2 *").month == (2,)
    assert parse("0 0 31 2 MON").day_rule == "dow"


# -- time zones -----------------------------------------------------------------------------

@pytest.mark.parametrize("given, canonical", [
    ("UTC", "UTC"),
    ("Europe/London", "Europe/London"),
    ("america/new_york", "America/New_York"),
    (" Asia/Kolkata ", "Asia/Kolkata"),
    ("AUSTRALIA/LORD_HOWE", "Australia/Lord_Howe"),
])
def test_check_timezone_returns_the_iana_spelling(given, canonical):
    assert check_timezone(given) == canonical


@pytest.mark.parametrize("bad", ["Mars/Base", "", "   ", None, 42, "../etc/passwd", "/etc/localtime",
                                 "localtime", "posixrules", "Europe/", "x" * 10_000])
def test_unknown_timezones_are_rejected(bad):
    with pytest.raises(InvalidInput) as caught:
        check_timezone(bad)
    assert caught.value.field == "timezone"
    assert not isinstance(caught.value, InvalidSchedule)
    assert "Europe/London" in caught.value.message  # says what a good value looks like


def test_check_timezone_still_works_where_zones_cannot_be_listed(monkeypatch):
    monkeypatch.setattr(schedules.zoneinfo, "available_timezones", set)
    schedules._zone_names.cache_clear()
    try:
        assert check_timezone("Europe/London") == "Europe/London"
        for bad in ("Mars/Base", "localtime", "../etc/passwd"):
            with pytest.raises(InvalidInput):
                check_timezone(bad)
    finally:
        schedules._zone_names.cache_clear()


def test_next_runs_rejects_an_unknown_zone_with_field_timezone():
    with pytest.raises(InvalidInput) as caught:
        runs("0 9 * * *", "Mars/Base", utc(2024, 1, 1))
    assert caught.value.field == "timezone"


# -- next runs ------------------------------------------------------------------------------

def test_new_york_daily_follows_local_time_across_the_season():
    assert runs("0 9 * * *", "America/New_York", utc(2024, 3, 8, 12), 4) == [
        utc(2024, 3, 8, 14), utc(2024, 3, 9, 14),  # EST, UTC-5
        utc(2024, 3, 10, 13), utc(2024, 3, 11, 13),  # EDT, UTC-4
    ]


def test_new_york_spring_forward_skips_the_missing_time():
    # 2024-03-10 02:00 EST jumps to 03:00 EDT: 02:30 does not exist that day, so no run.
    assert runs("30 2 * * *", "America/New_York", utc(2024, 3, 9), 3) == [
        utc(2024, 3, 9, 7, 30), utc(2024, 3, 11, 6, 30), utc(2024, 3, 12, 6, 30)]


def test_new_york_fall_back_runs_a_repeated_time_once_at_its_first_occurrence():
    # 2024-11-03 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST): fire only at 05:30Z.
    assert runs("30 1 * * *", "America/New_York", utc(2024, 11, 2), 3) == [
        utc(2024, 11, 2, 5, 30), utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)]


def test_new_york_every_30_minutes_through_the_fall_back_hour():
    # 01:00 and 01:30 EDT fire; the repeated 01:00 and 01:30 EST do not; 02:00 EST does.
    assert runs("*/30 * * * *", "America/New_York", utc(2024, 11, 3, 4, 45), 5) == [
        utc(2024, 11, 3, 5, 0), utc(2024, 11, 3, 5, 30),
        utc(2024, 11, 3, 7, 0), utc(2024, 11, 3, 7, 30), utc(2024, 11, 3, 8, 0)]


def test_new_york_hourly_through_the_spring_gap():
    assert runs("0 * * * *", "America/New_York", utc(2024, 3, 10, 5, 30), 3) == [
        utc(2024, 3, 10, 6), utc(2024, 3, 10, 7), utc(2024, 3, 10, 8)]  # 01:00 EST, 03:00, 04:00 EDT


def test_london_spring_forward_and_fall_back():
    # BST starts 2024-03-31 01:00 GMT (01:xx is skipped), ends 2024-10-27 02:00 BST (01:xx repeats).
    assert runs("30 1 * * *", "Europe/London", utc(2024, 3, 30), 3) == [
        utc(2024, 3, 30, 1, 30), utc(2024, 4, 1, 0, 30), utc(2024, 4, 2, 0, 30)]
    assert runs("30 1 * * *", "Europe/London", utc(2024, 10, 26), 3) == [
        utc(2024, 10, 26, 0, 30), utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30)]


def test_lord_howe_half_hour_spring_forward_skips_02_15():
    # 2024-10-06 02:00 (+10:30) jumps to 02:30 (+11:00): only 02:00-02:29 is missing.
    assert runs("15 2 * * *", "Australia/Lord_Howe", utc(2024, 10, 4), 3) == [
        utc(2024, 10, 4, 15, 45), utc(2024, 10, 6, 15, 15), utc(2024, 10, 7, 15, 15)]
    # 02:45 still exists that day (+11:00)
    assert runs("45 2 * * *", "Australia/Lord_Howe", utc(2024, 10, 5), 1) == [utc(2024, 10, 5, 15, 45)]


def test_lord_howe_half_hour_fall_back_runs_once():
    # 2024-04-07 02:00 (+11:00) goes back to 01:30 (+10:30): 01:30-01:59 happens twice.
    assert runs("45 1 * * *", "Australia/Lord_Howe", utc(2024, 4, 5), 3) == [
        utc(2024, 4, 5, 14, 45), utc(2024, 4, 6, 14, 45), utc(2024, 4, 7, 15, 15)]
    # 02:15 on that day is after the repeat, at +10:30
    assert runs("15 2 * * *", "Australia/Lord_Howe", utc(2024, 4, 5), 3) == [
        utc(2024, 4, 5, 15, 15), utc(2024, 4, 6, 15, 45), utc(2024, 4, 7, 15, 45)]


def test_kolkata_weekdays_at_half_past_three_utc():
    # +05:30 all year; 2024-06-07 is a Friday.
    assert runs("0 9 * * 1-5", "Asia/Kolkata", utc(2024, 6, 7), 5) == [
        utc(2024, 6, 7, 3, 30), utc(2024, 6, 10, 3, 30), utc(2024, 6, 11, 3, 30),
        utc(2024, 6, 12, 3, 30), utc(2024, 6, 13, 3, 30)]


def test_santiago_midnight_missing_on_spring_forward_day():
    # Chile moves 2024-09-08 00:00 (-04) to 01:00 (-03): that day has no midnight.
    assert runs("0 0 * * *", "America/Santiago", utc(2024, 9, 6, 12), 3) == [
        utc(2024, 9, 7, 4), utc(2024, 9, 9, 3), utc(2024, 9, 10, 3)]


def test_santiago_late_evening_repeated_on_fall_back_runs_once():
    # 2024-04-07 00:00 (-03) goes back to 2024-04-06 23:00 (-04): 23:30 on the 6th happens twice.
    assert runs("30 23 * * *", "America/Santiago", utc(2024, 4, 5, 12), 3) == [
        utc(2024, 4, 6, 2, 30), utc(2024, 4, 7, 2, 30), utc(2024, 4, 8, 3, 30)]


def test_day_of_month_or_day_of_week_fires_on_either_once():
    # 2024-04-01 is a Monday: both AWS schedules would fire; next_runs reports it once.
    assert runs("0 9 1 * MON", "UTC", utc(2024, 3, 31), 4) == [
        utc(2024, 4, 1, 9), utc(2024, 4, 8, 9), utc(2024, 4, 15, 9), utc(2024, 4, 22, 9)]
    assert runs("0 9 1 * MON", "UTC", utc(2024, 4, 23), 2) == [utc(2024, 4, 29, 9), utc(2024, 5, 1, 9)]


def test_results_are_strictly_after_and_aware_utc():
    result = runs("0 9 * * *", "Europe/London", datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc), 1)
    assert result == [utc(2024, 1, 2, 9)]
    assert result[0].tzinfo is timezone.utc
    # `after` in another zone is fine: it is an instant
    plus_one = timezone(timedelta(hours=1))
    assert runs("0 9 * * *", "UTC", datetime(2024, 1, 1, 10, 0, tzinfo=plus_one), 1) == [utc(2024, 1, 2, 9)]
    assert runs("0 9 * * *", "UTC", utc(2024, 1, 1, 8, 59, 59, 999999), 1) == [utc(2024, 1, 1, 9)]


def test_after_inside_the_repeated_hour_does_not_go_back_in_time():
    # 06:10Z is 01:10 EST, the second 01:10 of the night; the next run is 02:00 EST.
    assert runs("*/10 * * * *", "America/New_York", utc(2024, 11, 3, 6, 10), 2) == [
        utc(2024, 11, 3, 7, 0), utc(2024, 11, 3, 7, 10)]


def test_naive_after_is_a_programming_error():
    with pytest.raises(ValueError):
        runs("0 9 * * *", "UTC", datetime(2024, 1, 1))


def test_count_zero_and_next_run():
    assert runs("0 9 * * *", "UTC", utc(2024, 1, 1), 0) == []
    assert next_run(parse("0 9 * * *"), "UTC", utc(2024, 1, 1, 9)) == utc(2024, 1, 2, 9)


def test_leap_day_schedule_is_fast_and_skips_2100():
    started = time.perf_counter()
    result = runs("0 0 29 2 *", "UTC", utc(2088, 3, 1), 5)
    assert time.perf_counter() - started < 0.5
    assert result == [utc(2092, 2, 29), utc(2096, 2, 29), utc(2104, 2, 29), utc(2108, 2, 29),
                      utc(2112, 2, 29)]


def test_sparse_schedule_with_both_day_fields_is_fast():
    started = time.perf_counter()
    result = runs("0 0 29 2 SUN", "Pacific/Chatham", utc(2024, 1, 1), 5)
    assert time.perf_counter() - started < 0.5
    assert len(result) == 5


def test_no_run_beyond_the_calendar():
    assert next_run(parse("0 0 29 2 *"), "UTC", datetime(9999, 3, 1, tzinfo=timezone.utc)) is None


# -- due_between (local emulator) --------------------------------------------------------------

def test_due_between_is_start_exclusive_end_inclusive():
    daily = parse("0 9 * * *")
    assert due_between(daily, "UTC", utc(2024, 1, 1, 8, 59, 59), utc(2024, 1, 1, 9)) == [utc(2024, 1, 1, 9)]
    assert due_between(daily, "UTC", utc(2024, 1, 1, 9), utc(2024, 1, 1, 9, 0, 1)) == []
    assert due_between(daily, "UTC", utc(2024, 1, 1, 10), utc(2024, 1, 1, 9)) == []


def test_due_between_ticking_every_second_through_fall_back_fires_each_wall_time_once():
    schedule = parse("*/30 * * * *")
    fired, tick = [], utc(2024, 11, 3, 4, 59, 58)
    while tick < utc(2024, 11, 3, 7, 0, 2):
        fired += due_between(schedule, "America/New_York", tick, tick + timedelta(seconds=1))
        tick += timedelta(seconds=1)
    assert fired == [utc(2024, 11, 3, 5, 0), utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 7, 0)]


def test_due_between_over_a_day_matches_next_runs():
    schedule = parse("*/20 9-11 * * *")
    day = due_between(schedule, "Asia/Kolkata", utc(2024, 6, 7), utc(2024, 6, 8))
    assert day == next_runs(schedule, "Asia/Kolkata", utc(2024, 6, 7), 9)
    assert day[0] == utc(2024, 6, 7, 3, 30) and day[-1] == utc(2024, 6, 7, 6, 10)


def test_module_has_no_aws_imports():
    import chalicelib.core.aws_cron as aws_cron
    for module in (schedules, aws_cron):
        source = open(module.__file__).read()
        assert "boto" not in source and "chalicelib.aws" not in source


def test_times_in_is_since_inclusive_until_exclusive_and_capped():
    hourly = parse("0 * * * *")
    since, until = datetime(2026, 11, 16, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc)
    week = schedules.times_in(hourly, "UTC", since, until, 1000)
    assert len(week) == 168 and week[0] == since and week[-1] == until - timedelta(hours=1)
    assert schedules.times_in(hourly, "UTC", since, until, 10) == week[:10]
    # consecutive windows share no run
    halves = (schedules.times_in(hourly, "UTC", since, since + timedelta(days=3), 1000)
              + schedules.times_in(hourly, "UTC", since + timedelta(days=3), until, 1000))
    assert halves == week


def test_times_in_follows_the_dst_rule_of_next_runs():
    hourly = parse("0 * * * *")
    since = datetime(2026, 10, 31, 4, tzinfo=timezone.utc)   # midnight EDT
    times = schedules.times_in(hourly, "America/New_York", since, since + timedelta(hours=49), 100)
    assert len(times) == 48                                   # 01:00 happens twice, runs once
    assert times == next_runs(hourly, "America/New_York", since - timedelta(seconds=1), 48)
