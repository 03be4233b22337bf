"""Issue 8's property tests, the parts tests/unit/test_retry_policy.py and test_signing.py leave out:
the retry policy on any schedule (monotone, capped, jittered within bounds) and tampering with
every signed part (body, id, timestamp, signature, secret), not only an appended space."""
import base64
import json

import pytest
from hypothesis import given, settings, strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.core import retry_policy as rp
from chalicelib.core import signing

# ---------------------------------------------------------------- retry policy

schedules = st.lists(st.floats(0, 10**6, allow_nan=False), min_size=1, max_size=12).map(tuple)
unit = st.floats(0, 1)


@given(schedule=schedules, n=st.integers(1, 100), r=unit)
def test_every_gap_is_within_jitter_of_its_nominal_value(schedule, n, r):
    nominal = schedule[min(n, len(schedule)) - 1]
    gap = rp.backoff(n, schedule, rng=lambda: r)
    assert nominal * (1 - rp.JITTER) - 1e-6 <= gap <= nominal * (1 + rp.JITTER) + 1e-6


@given(schedule=schedules.map(lambda s: tuple(sorted(s))), n=st.integers(1, 100), r=unit)
def test_on_a_growing_schedule_gaps_never_shrink_at_equal_jitter(schedule, n, r):
    assert rp.backoff(n + 1, schedule, rng=lambda: r) >= rp.backoff(n, schedule, rng=lambda: r)


@given(schedule=schedules, n=st.integers(1, 10**6), r=unit, retry_after=st.none() | st.floats(-10**9, 10**9))
def test_no_delay_is_negative_or_past_the_cap(schedule, n, r, retry_after):
    delay = rp.next_delay(n, retry_after, schedule, rng=lambda: r)
    assert delay >= 0
    if retry_after is None:
        assert delay <= max(schedule) * (1 + rp.JITTER) + 1e-6       # capped by the longest gap
    else:
        assert delay == min(max(retry_after, 0.0), rp.RETRY_AFTER_CAP)


@given(n=st.integers(len(rp.DEFAULT_SCHEDULE), 10**6), r=unit)
def test_past_the_default_schedule_the_gap_stays_capped(n, r):
    assert rp.backoff(n, rng=lambda: r) == rp.backoff(len(rp.DEFAULT_SCHEDULE), rng=lambda: r)
    assert rp.backoff(n, rng=lambda: r) <= max(rp.DEFAULT_SCHEDULE) * (1 + rp.JITTER) + 1e-6


@given(n=st.integers(1, 30))
@settings(max_examples=30)
def test_jitter_is_drawn_not_fixed(n):
    """With the real random source, gaps spread over the jitter window (not one value)."""
    gaps = {rp.backoff(n) for _ in range(50)}
    nominal = rp.DEFAULT_SCHEDULE[min(n, len(rp.DEFAULT_SCHEDULE)) - 1]
    assert len(gaps) > 1
    assert all(nominal * (1 - rp.JITTER) <= g <= nominal * (1 + rp.JITTER) for g in gaps)


@given(st.lists(st.floats(0, 10**6, allow_nan=False, allow_infinity=False), min_size=1, max_size=8))
def test_a_configured_schedule_parses_back_to_its_values(values):
    text = ",".join(repr(v) for v in values)
    assert rp.parse_schedule(text) == tuple(values)


# ---------------------------------------------------------------- signing

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                     max_leaves=10)
bodies = st.dictionaries(st.text(max_size=8), _json, max_size=5).map(lambda d: json.dumps(d).encode())
ids = st.from_regex(r"(dlv|msg)_[0-9A-Z]{26}", fullmatch=True)
NOW = 1_760_000_000


def _verifies(secret, body, headers) -> bool:
    try:
        Webhook(secret).verify(body, headers)
        return True
    except (WebhookVerificationError, UnicodeDecodeError):   # the library reads bodies as UTF-8
        return False


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    """The reference library rejects timestamps older than 5 minutes: verify at NOW."""
    import standardwebhooks.webhooks as wh
    from datetime import datetime, timezone

    class _Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(NOW, tz or timezone.utc)
    monkeypatch.setattr(wh, "datetime", _Clock)


@settings(max_examples=200)
@given(body=bodies, wid=ids, ts=st.integers(NOW - 200, NOW + 200), data=st.data())
def test_round_trip_and_any_one_byte_change_is_caught(body, wid, ts, data):
    secret = signing.new_secret()
    headers = signing.webhook_headers([secret], wid, ts, body)
    assert _verifies(secret, body, headers)
    # the body: any byte flipped, one removed, or one added
    i = data.draw(st.integers(0, max(len(body) - 1, 0)))
    flip = data.draw(st.integers(1, 255))
    changed = [body[:i] + bytes([body[i] ^ flip]) + body[i + 1:]] if body else []
    changed += [body[:i] + body[i + 1:], body + data.draw(st.binary(min_size=1, max_size=3))]
    for other in changed:
        if other != body:
            assert not _verifies(secret, other, headers), other
    # the id and the timestamp are signed too
    other_id = data.draw(ids.filter(lambda x: x != wid))
    assert not _verifies(secret, body, {**headers, "webhook-id": other_id})
    other_ts = data.draw(st.integers(NOW - 200, NOW + 200).filter(lambda x: x != ts))
    assert not _verifies(secret, body, {**headers, "webhook-timestamp": str(other_ts)})
    # a signature with one bit changed, or made with another secret
    sig = base64.b64decode(headers["webhook-signature"].split(",", 1)[1])
    bit = data.draw(st.integers(0, len(sig) * 8 - 1))
    bad = bytearray(sig)
    bad[bit // 8] ^= 1 << (bit % 8)
    assert not _verifies(secret, body, {**headers, "webhook-signature": "v1," + base64.b64encode(bytes(bad)).decode()})
    assert not _verifies(signing.new_secret(), body, headers)


@settings(max_examples=100)
@given(body=bodies, wid=ids, n=st.integers(1, 3))
def test_during_a_rotation_each_active_secret_verifies_and_no_other(body, wid, n):
    secrets = [signing.new_secret() for _ in range(n)]
    headers = signing.webhook_headers(secrets, wid, NOW, body)
    assert len(headers["webhook-signature"].split(" ")) == n
    assert all(_verifies(s, body, headers) for s in secrets)
    assert not _verifies(signing.new_secret(), body, headers)


@given(wid=ids, ts=st.integers(0, 2**40), body=st.binary(max_size=64))
def test_signatures_are_deterministic_and_v1_base64_sha256(wid, ts, body):
    secret = signing.new_secret()
    a, b = signing.sign(secret, wid, ts, body), signing.sign(secret, wid, ts, body)
    assert a == b and a.startswith("v1,")
    assert len(base64.b64decode(a[3:])) == 32
