"""When to try again. Gaps grow from seconds to hours (Svix's schedule), with jitter so a
receiver that comes back is not hit by every retry at once; `Retry-After` wins, capped.

A queue, a cron job or a send may choose its own `retry_schedule`: a preset (`svix`, the
default; `exponential`, QStash's min(86400, e^(2.5 n)) s) or an explicit list of gaps. Which
schedule a retry waits by, first match wins:
  1. a `Retry-After` header on the failed attempt (capped at RETRY_AFTER_CAP);
  2. the delivery's own `retry_schedule` (a preset or a list), as given;
  3. the stage's `INFRAI_RETRY_SCHEDULE` (test stages: fast retries), when set;
  4. the `svix` preset.
Presets and the stage's schedule get ±20 % jitter; an explicit list is waited exactly."""
import math
import random

from .errors import InvalidInput

# Delay before retry n (n = 1 is the first retry). Past the end, the last gap repeats.
DEFAULT_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2            # each gap is drawn uniformly from ±20 % of its nominal value
RETRY_AFTER_CAP = 3600  # a receiver may ask us to wait, but not for more than an hour
GONE = 410              # the receiver says the endpoint is gone for good: stop at once
PRESETS = ("svix", "exponential")
MAX_GAPS = 30
MAX_TOTAL = 7 * 24 * 3600   # an explicit schedule spans at most a week
EXPONENTIAL_CAP = 86400


def exponential_gap(retry_number: int) -> float:
    """QStash's backoff: min(86400, e^(2.5 n)) seconds (12 s, 148 s, 30 min, 6 h, then a day)."""
    return float(min(EXPONENTIAL_CAP, math.exp(2.5 * min(retry_number, 10))))


def backoff(retry_number: int, schedule=DEFAULT_SCHEDULE, rng=random.random) -> float:
    nominal = schedule[min(retry_number, len(schedule)) - 1]
    return nominal * (1 - JITTER + 2 * JITTER * rng())


def next_delay(retry_number: int, retry_after: float | None, schedule=DEFAULT_SCHEDULE,
               rng=random.random, chosen=None) -> float:
    """The wait before retry `retry_number`. `chosen`: the delivery's own retry_schedule (a
    preset name or a list of gaps), which beats `schedule` (the stage's default)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_AFTER_CAP)
    if isinstance(chosen, (list, tuple)) and chosen:
        return float(chosen[min(retry_number, len(chosen)) - 1])
    if chosen == "exponential":
        return exponential_gap(retry_number) * (1 - JITTER + 2 * JITTER * rng())
    if chosen == "svix":
        return backoff(retry_number, DEFAULT_SCHEDULE, rng)
    return backoff(retry_number, schedule, rng)


def check(value, field: str = "retry_schedule"):
    """A `retry_schedule` from a request: None (the default), a preset name, or a list of 1 to
    MAX_GAPS whole seconds (each 0 or more) adding up to at most MAX_TOTAL."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in PRESETS:
            raise InvalidInput(f"'{field}' must be 'svix', 'exponential' or a list of gaps in seconds, "
                               f"e.g. [10, 60, 600]; got '{value[:40]}'.", field=field)
        return value
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_GAPS:
        raise InvalidInput(f"'{field}' must be 'svix', 'exponential' or a list of 1 to {MAX_GAPS} gaps in "
                           "seconds, e.g. [10, 60, 600].", field=field)
    gaps = []
    for i, gap in enumerate(value):
        if isinstance(gap, float) and gap.is_integer():
            gap = int(gap)
        if isinstance(gap, bool) or not isinstance(gap, int) or gap < 0:
            raise InvalidInput(f"'{field}[{i}]' must be a whole number of seconds, 0 or more.", field=field)
        gaps.append(gap)
    if sum(gaps) > MAX_TOTAL:
        raise InvalidInput(f"'{field}' adds up to {sum(gaps)} s; a schedule may span at most {MAX_TOTAL} s "
                           "(7 days). Shorten the gaps.", field=field)
    return gaps


def parse_schedule(text: str | None):
    """`INFRAI_RETRY_SCHEDULE="1,2,4"` (seconds) for stages that need a faster schedule."""
    if not text:
        return DEFAULT_SCHEDULE
    values = tuple(float(v) for v in text.split(",") if v.strip())
    if not values or any(v < 0 for v in values):
        raise ValueError("INFRAI_RETRY_SCHEDULE must be comma-separated non-negative seconds")
    return values
