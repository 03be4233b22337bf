"""Property tests: what AWS would fire for `to_aws(...)` equals what `next_runs` predicts.

The AWS side is evaluated by a second, deliberately naive evaluator written here: it parses
the emitted `cron(...)` strings with AWS rules (6 fields, `?`, day-of-week 1-7 with 1 = SUN,
`a/n` runs to the field maximum) and walks UTC minute by minute, converting each instant to
local time. Walking UTC (not local wall time) sidesteps DST by construction: a wall time in
a spring-forward gap never shows up, and the second occurrence of a repeated wall time shows
up with fold=1, which the AWS rule ("runs only once") says to drop.
"""
import functools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib.core.errors import InvalidSchedule
from chalicelib.core.schedules import due_between, next_runs, parse, to_aws

try:
    from aws_cron_expression_validator.validator import AWSCronExpressionValidator
except ImportError:  # test-only extra; see requirements-dev-extra.txt
    AWSCronExpressionValidator = None

ZONES = [
    "UTC", "America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Dublin",
    "Europe/Berlin", "Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata", "Asia/Kathmandu",
    "Pacific/Chatham", "America/Santiago", "America/Havana", "Africa/Cairo", "America/St_Johns",
    "Asia/Tehran", "Pacific/Apia",
]
RUNS = 8
MAX_WINDOW = timedelta(days=120)  # bounds the brute force for sparse schedules

# -- an independent AWS cron evaluator ------------------------------------------------------

AWS_MONTHS = {n: i for i, n in enumerate(
    "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}
AWS_DAYS = {n: i for i, n in enumerate("SUN MON TUE WED THU FRI SAT".split(), start=1)}


def aws_field(text, lo, hi, names=None):
    """Set of values an AWS cron field matches; None for '?'."""
    if text == "?":
        return None
    value = (lambda s: names[s] if names and s in names else int(s))
    out = set()
    for part in text.split(","):
        base, slash, step = part.partition("/")
        step = int(step) if slash else 1
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            first, last = (value(x) for x in base.split("-"))
        else:
            first = value(base)
            last = hi if slash else first
        assert lo <= first <= last <= hi, text
        out.update(range(first, last + 1, step))
    return out


class AwsCron:
    def __init__(self, expression):
        assert expression.startswith("cron(") and expression.endswith(")")
        minute, hour, dom, month, dow, year = expression[5:-1].split(" ")
        assert year == "*" and (dom == "?") != (dow == "?"), expression
        assert "/" not in dow, "AWS has no steps in day-of-week"
        self.minute = aws_field(minute, 0, 59)
        self.hour = aws_field(hour, 0, 23)
        self.dom = aws_field(dom, 1, 31)
        self.month = aws_field(month, 1, 12, AWS_MONTHS)
        self.dow = aws_field(dow, 1, 7, AWS_DAYS)

    def day_matches(self, local):
        if local.month not in self.month:
            return False
        if self.dom is not None:
            return local.day in self.dom
        return local.isoweekday() % 7 + 1 in self.dow  # Sunday -> 1 ... Saturday -> 7

    def matches(self, local):
        return self.day_matches(local) and local.hour in self.hour and local.minute in self.minute


def aws_fire_times(expressions, zone_name, after, limit, horizon):
    """First `limit` UTC minutes in (after, horizon] at which any AWS expression fires."""
    crons, zone = [AwsCron(e) for e in expressions], ZoneInfo(zone_name)
    quarter = after.replace(minute=after.minute - after.minute % 15, second=0, microsecond=0)
    found = []
    while quarter <= horizon and len(found) < limit:
        # Skip a quarter hour whose local day/hour can't match (offsets are whole quarters).
        ends = [quarter.astimezone(zone), (quarter + timedelta(minutes=14)).astimezone(zone)]
        if any(c.day_matches(e) and e.hour in c.hour for c in crons for e in ends):
            for i in range(15):
                t = quarter + timedelta(minutes=i)
                local = t.astimezone(zone)
                if after < t <= horizon and local.fold == 0 and any(c.matches(local) for c in crons):
                    found.append(t)
        quarter += timedelta(minutes=15)
    return found[:limit]


# -- where to look: near each zone's DST transitions ------------------------------------------

@functools.lru_cache(maxsize=None)
def transitions(zone_name):
    """UTC instants (to the minute) where the zone's offset changes, 2010-2027."""
    zone, out = ZoneInfo(zone_name), []
    day = datetime(2010, 1, 1, tzinfo=timezone.utc)
    while day.year < 2028:
        nxt = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            lo, hi = day, nxt  # bisect to the minute
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid.astimezone(zone).utcoffset() == day.astimezone(zone).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        day = nxt
    return out or [datetime(2024, 3, 1, tzinfo=timezone.utc)]


@st.composite
def zone_and_instant(draw):
    zone = draw(st.sampled_from(ZONES))
    near = draw(st.sampled_from(transitions(zone)))
    # Mostly just before the change, so that even minutely schedules reach it within RUNS.
    offset = draw(st.one_of(st.integers(-90, 15), st.integers(-36 * 60, 12 * 60)))
    seconds = draw(st.sampled_from([0, 0, 0, 1, 30, 59]))
    return zone, near, near + timedelta(minutes=offset, seconds=seconds)


# -- random standard cron expressions from the grammar ----------------------------------------

def item(lo, hi, names=(), star=True):
    number = st.integers(lo, hi).map(str)
    value = st.one_of(number, st.sampled_from(names)) if names else number
    span = st.tuples(st.integers(lo, hi), st.integers(lo, hi)).map(sorted)
    step = st.integers(1, hi - lo + 1).map(str)
    forms = [
        value,
        span.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(span, step).map(lambda p: f"{p[0][0]}-{p[0][1]}/{p[1]}"),
        st.tuples(number, step).map(lambda p: f"{p[0]}/{p[1]}"),
    ]
    if star:
        forms.append(step.map(lambda n: "*/" + n))  # a bare '*' comes from field(star_bias=True)
    return st.one_of(forms)


def field(lo, hi, names=(), star_bias=False, no_star=False):
    # no_star: for "both day fields restricted", where no item may start with '*'
    listed = st.lists(item(lo, hi, names, star=not no_star), min_size=1, max_size=3).map(",".join)
    return st.one_of(st.just("*"), st.just("*"), listed) if star_bias else listed


MONTHS = tuple(AWS_MONTHS) + tuple(n.lower() for n in AWS_MONTHS)
DAYS = tuple(AWS_DAYS) + ("mon", "fri")
# The four ways standard cron picks days, drawn about equally often.
day_fields = st.one_of(
    st.tuples(st.just("*"), st.just("*")),
    st.tuples(field(1, 31), st.just("*")),
    st.tuples(st.just("*"), field(0, 7, DAYS)),
    st.tuples(field(1, 31, no_star=True), field(0, 7, DAYS, no_star=True)),
)
five_fields = st.tuples(
    field(0, 59, star_bias=True), field(0, 23, star_bias=True), day_fields,
    field(1, 12, MONTHS, star_bias=True),
).map(lambda f: f"{f[0]} {f[1]} {f[2][0]} {f[3]} {f[2][1]}")
macros = st.sampled_from(["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly"])
expressions = st.integers(0, 9).flatmap(lambda i: macros if i == 0 else five_fields)  # ~10% macros


def parsed(expression):
    """The parsed schedule; an expression we refuse is not an example (we predict nothing for it)."""
    try:
        return parse(expression)
    except InvalidSchedule:
        assume(False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(expression=expressions, where=zone_and_instant())
def test_next_runs_match_what_the_aws_expressions_fire(expression, where):
    zone, change, after = where
    schedule = parsed(expression)
    aws = to_aws(schedule)
    if AWSCronExpressionValidator is not None:
        for e in aws:
            AWSCronExpressionValidator.validate(e[len("cron("):-1])
    expected = aws_fire_times(aws, zone, after, RUNS, after + MAX_WINDOW)
    predicted = [t for t in next_runs(schedule, zone, after, RUNS) if t <= after + MAX_WINDOW]
    assert predicted == expected, (expression, aws, zone, after)
    # Every fire time from `after` until 3 hours past the offset change, DST included.
    horizon = change + timedelta(hours=3)
    expected = aws_fire_times(aws, zone, after, 10**6, horizon)
    assert due_between(schedule, zone, after, horizon) == expected, (expression, aws, zone, after)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40),
                 st.text(alphabet="0123456789*/-,? LW#@JANMONSUNjanmon", max_size=30)))
def test_parse_accepts_or_raises_invalid_schedule_never_anything_else(text):
    try:
        schedule = parse(text)
    except InvalidSchedule as error:
        assert error.field == "schedule" and error.message
        return
    assert 1 <= len(to_aws(schedule)) <= 2
