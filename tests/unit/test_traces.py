"""core/traces.py: W3C traceparent/tracestate parsing, the ids a delivery's attempts are sent with."""
import pytest

from chalicelib.core import traces

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
GOOD = f"00-{TRACE}-{PARENT}-01"


def test_the_spec_example_is_read():
    t = traces.parse(GOOD, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    assert (t.trace_id, t.parent_id, t.flags, t.state, t.derived) == (
        TRACE, PARENT, 1, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", False)
    assert traces.parse(f"  {GOOD}\t").trace_id == TRACE           # optional whitespace around
    assert traces.parse(GOOD.replace("-01", "-00")).flags == 0   # not sampled stays not sampled
    assert traces.parse(GOOD.replace("-01", "-ff")).flags == 1   # unknown flags are not passed on


@pytest.mark.parametrize("bad", [
    None, "", 42, "garbage", GOOD[:-1], GOOD + "-", GOOD + "x",
    GOOD.upper(),                                   # ids are lowercase hex
    f"00-{'0' * 32}-{PARENT}-01",                   # all-zero trace id
    f"00-{TRACE}-{'0' * 16}-01",                    # all-zero parent id
    f"ff-{TRACE}-{PARENT}-01",                      # version ff is invalid
    f"0g-{TRACE}-{PARENT}-01", f"00-{TRACE[:-1]}z-{PARENT}-01", f"00-{TRACE}-{PARENT}-0x",
    f"00_{TRACE}_{PARENT}_01", f"00-{TRACE}-{PARENT}01-",
    f"01-{TRACE}-{PARENT}-01x",                     # a future version must go on with a dash
])
def test_a_malformed_traceparent_is_no_trace(bad):
    assert traces.parse(bad) is None


def test_a_future_version_is_read_by_its_first_four_fields_and_sent_as_00():
    t = traces.parse(f"cc-{TRACE}-{PARENT}-01-what-the-future-holds")
    assert (t.trace_id, t.parent_id, t.flags) == (TRACE, PARENT, 1)
    assert traces.stored(t) == GOOD


@pytest.mark.parametrize("state,kept", [
    ("a=1", "a=1"), (" a=1 , b@sys=x ,", "a=1,b@sys=x"), ("1vendor=v", "1vendor=v"),
    ("A=1", None), ("a", None), ("a=", None), ("a=b=c", None), ("a=1,=2", None), ("a=\x01", None),
    (",".join(f"k{i}=v" for i in range(33)), None), ("a=" + "x" * 600, None), (7, None), ("", None),
])
def test_tracestate_is_kept_only_when_well_formed_and_a_bad_one_does_not_lose_the_traceparent(state, kept):
    t = traces.parse(GOOD, state)
    assert t.trace_id == TRACE and t.state == kept


def test_headers_are_found_in_any_case():
    assert traces.from_headers({"TraceParent": GOOD, "TRACESTATE": "a=1"}).state == "a=1"
    assert traces.from_headers({"traceparent": "nope"}) is None
    assert traces.from_headers(None) is None


def test_a_given_trace_is_stored_in_one_short_attribute_and_read_back():
    t = traces.parse(GOOD, "a=1")
    assert traces.stored(t) == GOOD + " a=1"
    assert len(traces.stored(traces.parse(GOOD))) == 55
    assert traces.of({"delivery_id": "dlv_X", "tp": traces.stored(t)}) == t


def test_a_delivery_without_one_has_its_own_stable_trace_and_stores_nothing():
    a, b = traces.of({"delivery_id": "dlv_A"}), traces.of({"delivery_id": "dlv_B"})
    assert a == traces.of({"delivery_id": "dlv_A"}) and a.trace_id != b.trace_id
    assert a.derived and a.flags == traces.SAMPLED and traces.stored(a) is None
    assert len(a.trace_id) == 32 and len(a.parent_id) == 16
    assert traces.parse(traces.traceparent(a.trace_id, a.parent_id, a.flags)) is not None
    assert traces.of({"delivery_id": "dlv_A", "tp": "corrupt"}) == a   # never a crash on an odd record


def test_each_attempt_has_its_own_span_in_the_delivery_trace():
    record = {"delivery_id": "dlv_A", "tp": traces.stored(traces.parse(GOOD, "a=1"))}
    h1, h2 = traces.attempt_headers(record, 1), traces.attempt_headers(record, 2)
    p1, p2 = traces.parse(h1["traceparent"]), traces.parse(h2["traceparent"])
    assert p1.trace_id == p2.trace_id == TRACE and p1.parent_id != p2.parent_id
    assert p1.parent_id == traces.attempt_span("dlv_A", 1) != PARENT
    assert h1["tracestate"] == "a=1" and h1 == traces.attempt_headers(record, 1)   # a re-send: the same span
    assert "tracestate" not in traces.attempt_headers({"delivery_id": "dlv_A"}, 1)


def test_what_an_attempt_leads_to_is_a_child_of_that_attempt():
    record = {"delivery_id": "dlv_A"}
    child = traces.child_of_attempt(record, 3)
    assert child.trace_id == traces.of(record).trace_id and child.parent_id == traces.attempt_span("dlv_A", 3)
    assert traces.stored(child).startswith("00-" + child.trace_id)   # stored on the callback: not derivable
