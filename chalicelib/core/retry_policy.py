"""When to try again. Gaps grow from seconds to hours (Svix's schedule), with jitter so a
receiver that comes back is not hit by every retry at once; `Retry-After` wins, capped."""
import random

# Delay before retry n (n = 1 is the first retry). Past the end, the last gap repeats.
DEFAULT_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2            # each gap is drawn uniformly from ±20 % of its nominal value
RETRY_AFTER_CAP = 3600  # a receiver may ask us to wait, but not for more than an hour
GONE = 410              # the receiver says the endpoint is gone for good: stop at once


def backoff(retry_number: int, schedule=DEFAULT_SCHEDULE, rng=random.random) -> float:
    nominal = schedule[min(retry_number, len(schedule)) - 1]
    return nominal * (1 - JITTER + 2 * JITTER * rng())


def next_delay(retry_number: int, retry_after: float | None, schedule=DEFAULT_SCHEDULE,
               rng=random.random) -> float:
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_AFTER_CAP)
    return backoff(retry_number, schedule, rng)


def parse_schedule(text: str | None):
    """`INFRAI_RETRY_SCHEDULE="1,2,4"` (seconds) for stages that need a faster schedule."""
    if not text:
        return DEFAULT_SCHEDULE
    values = tuple(float(v) for v in text.split(",") if v.strip())
    if not values or any(v < 0 for v in values):
        raise ValueError("INFRAI_RETRY_SCHEDULE must be comma-separated non-negative seconds")
    return values
