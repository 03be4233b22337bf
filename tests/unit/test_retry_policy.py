import pytest
from hypothesis import given, strategies as st

from chalicelib.core import retry_policy as rp


def test_gaps_follow_the_svix_schedule_within_jitter():
    for n, nominal in enumerate(rp.DEFAULT_SCHEDULE, start=1):
        assert rp.backoff(n, rng=lambda: 0.0) == pytest.approx(nominal * 0.8)
        assert rp.backoff(n, rng=lambda: 1.0) == pytest.approx(nominal * 1.2)


def test_past_the_schedule_the_last_gap_repeats():
    assert rp.backoff(50, rng=lambda: 0.5) == rp.DEFAULT_SCHEDULE[-1]


@given(n=st.integers(1, 30), r1=st.floats(0, 1), r2=st.floats(0, 1))
def test_backoff_is_monotone_at_equal_jitter_and_bounded(n, r1, r2):
    a, b = rp.backoff(n, rng=lambda: r1), rp.backoff(n + 1, rng=lambda: r1)
    assert b >= a
    nominal = rp.DEFAULT_SCHEDULE[min(n, len(rp.DEFAULT_SCHEDULE)) - 1]
    assert nominal * 0.8 - 1e-9 <= rp.backoff(n, rng=lambda: r2) <= nominal * 1.2 + 1e-9


@given(after=st.floats(0, 10**7))
def test_retry_after_wins_but_is_capped(after):
    assert rp.next_delay(3, after) == min(after, rp.RETRY_AFTER_CAP)


def test_schedule_from_configuration():
    assert rp.parse_schedule("1, 2,4") == (1.0, 2.0, 4.0)
    assert rp.parse_schedule(None) == rp.DEFAULT_SCHEDULE
    with pytest.raises(ValueError):
        rp.parse_schedule("1,-2")
