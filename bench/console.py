"""Issue 14 benchmark: how long the console's deliveries page takes to render 100 rows once the
API's answer has arrived (the goal: under 200 ms), in headless Chromium (Debian's `chromium`,
driven by Playwright, as in tests/browser) against the local stack. The page measures itself:
`deliveries.js` starts a `performance.now()` clock when the API's answer is in, and writes on
`#list-status` the time its DOM work took (`data-render-ms`) and the time until the rows have been
laid out and painted (`data-paint-ms`: the frame after the next animation frame). The page is
opened afresh RUNS times on a desktop-sized and on a phone-sized screen; the median [min–max] is
printed.

    BENCH=console make bench        (BENCH_CONSOLE_RUNS=20 by default)
"""
import os
import uuid

from .common import http, median, report, start_stack

RUNS = int(os.environ.get("BENCH_CONSOLE_RUNS", "20"))
SCREENS = {
    "desktop 1280x900": {"viewport": {"width": 1280, "height": 900}},
    "phone 390x844 (x2 pixels, touch)": {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                                         "has_touch": True, "device_scale_factor": 2},
}


def main():
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import _install_chromium, _new, sign_in
    chromium = _install_chromium()
    if not chromium:
        raise SystemExit("bench/console: no chromium (Debian's package) and it could not be installed")
    stack, receiver = start_stack()
    s = http(stack)
    name = f"bench-{uuid.uuid4().hex[:8]}"   # a queue without an endpoint: its messages stay held
    try:
        for start in (0, 100):
            r = s.post(stack.base_url + "/v1/scheduling/queue/publish-batch", timeout=60, json={
                "messages": [{"queue": name, "payload": {"i": i, "note": "x" * 40}} for i in range(start, start + 100)]})
            assert r.status_code == 202, r.text
        figures = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True)
            for screen, options in SCREENS.items():
                w = _new(browser, stack, **options)   # the browser tests' context and sign-in
                sign_in(w, stack)
                page, times = w.page, []
                for i in range(RUNS):
                    # a fresh load of the page each time (the query string differs so nothing is reused)
                    page.goto(f"{stack.base_url}/console?run={i}#/deliveries?kind=queue&queue={name}")
                    page.locator("table.deliveries tbody tr").nth(99).wait_for(state="attached")
                    status = page.locator("#list-status[data-paint-ms]")
                    status.wait_for(state="attached")
                    times.append((float(status.get_attribute("data-render-ms")),
                                  float(status.get_attribute("data-paint-ms"))))
                    assert page.locator("table.deliveries tbody tr").count() == 100
                figures[screen] = times
                w.context.close()
            browser.close()
    finally:
        stack.stop()
        receiver.stop()
    rows = []
    for screen, t in figures.items():
        for label, i in (("rows built", 0), ("rows on screen (laid out, painted)", 1)):
            v = [x[i] for x in t]
            rows.append((f"{screen}: {label}", f"{median(v):.1f} ms [{min(v):.1f}–{max(v):.1f}]"))
    report(f"console: the deliveries page's 100 rows, timed from the API's answer ({RUNS} loads each; "
           "goal < 200 ms)", rows)
