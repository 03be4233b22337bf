"""Browser tests: the console (chalicelib/console) in headless Chromium driven by Playwright,
against the local stack started in-process (as in tests/e2e) and a real receiver.

The browser is Debian's `chromium` (Playwright's own browser download cannot be reached from
here: DESIGN.md §4). When it is missing and we are root with apt-get, it is installed once.
When no browser can be had the run fails (a skip is not a pass), unless INFRAI_SKIP_BROWSER=1
says to skip them knowingly.

Every test gets a fresh browser context (one browser for the module) that records every request
and every console error; after the test, no request may have left the stack's origin and the
console must hold no error (CSP violations, script errors, failed loads) other than the HTTP
error statuses the test declares it provokes."""
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import api, path, receiver, stack  # noqa: F401 - the same stack fixtures

SHOTS = Path(__file__).resolve().parents[2] / "build" / "console"
TIMEOUT_MS = 10_000


def _install_chromium() -> str | None:
    found = shutil.which("chromium")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("\n*** tests/browser: chromium is missing; installing Debian's package (apt-get) ***", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode:
            print(f"*** {' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}", flush=True)
            return None
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path():
    found = _install_chromium()
    if found:
        return found
    message = ("NO BROWSER: Debian's chromium is not installed and could not be installed "
               "(needs root and apt-get); the console's browser tests did NOT run.")
    if os.environ.get("INFRAI_SKIP_BROWSER") != "1":
        # a suite that did not run its browser tests has not passed (set INFRAI_SKIP_BROWSER=1
        # to choose to skip them on a machine that cannot have chromium, knowingly)
        pytest.fail(message + " Install chromium, or set INFRAI_SKIP_BROWSER=1 to skip them knowingly.")
    print(f"\n{'!' * 100}\n{message}\n{'!' * 100}", flush=True)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True)
        yield b
        b.close()


class Watched:
    """A page with what it requested and what its console said."""

    def __init__(self, context, page, origin):
        self.context, self.page, self.origin = context, page, origin
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.expected_statuses: set[int] = set()   # HTTP errors the test provokes on purpose
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def check(self):
        foreign = [u for u in self.requests if _origin(u) != self.origin]
        assert foreign == [], f"requests that left the origin {self.origin}: {foreign}"
        loads = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")
        unexpected = [e for e in self.errors
                      if not ((m := loads.search(e)) and int(m.group(1)) in self.expected_statuses)]
        assert unexpected == [], f"errors in the browser console: {unexpected}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _new(browser, stack, **options):
    context = browser.new_context(timezone_id="Europe/Paris", locale="en-GB", **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    return Watched(context, page, stack.base_url)


@pytest.fixture
def web(browser, stack):
    w = _new(browser, stack, viewport={"width": 1280, "height": 900})
    yield w
    try:
        w.check()
    finally:
        w.context.close()


@pytest.fixture
def phone(browser, stack):
    w = _new(browser, stack, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
             device_scale_factor=2)
    yield w
    try:
        w.check()
    finally:
        w.context.close()


def shot(page, name: str, full_page: bool = True) -> None:
    """A screenshot of the page as it is, under build/console/ (every run)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def sign_in(w: Watched, stack, hash_: str = "") -> None:
    w.page.goto(f"{stack.base_url}/console{hash_}")
    w.page.get_by_label("API key").fill(stack.api_key)
    w.page.get_by_role("button", name="Sign in").click()
    w.page.locator("#top").wait_for(state="visible")
