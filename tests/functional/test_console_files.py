"""The web console's files (chalicelib/api/console.py): served without a key, each with a strict
Content-Security-Policy, only the files of chalicelib/console, nothing from another origin. The
console itself is driven in a real browser in tests/browser."""
import json
import re
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib.api import console

ROOT = Path(console.ROOT)


@pytest.fixture(scope="module")
def http():
    from app import app
    with Client(app) as c:
        yield c.http


def test_the_page_is_served_without_a_key_with_a_strict_policy(http):
    resp = http.get("/console")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = resp.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    for name in ("script-src", "style-src", "connect-src", "img-src"):
        assert directives[name] == "'self'", name     # no 'unsafe-inline', no other origin
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert b'<script type="module" src="console/app.js">' in resp.body


@pytest.mark.parametrize("name", sorted(p.name for p in ROOT.iterdir()))
def test_every_file_is_served_with_its_type_and_the_policy(http, name):
    resp = http.get(f"/console/{name}")
    if name == "index.html":   # only at /console: its relative links would break one level down
        assert resp.status_code == 404
        return
    assert resp.status_code == 200, name
    assert resp.headers["Content-Type"] == console.TYPES[Path(name).suffix]
    assert resp.headers["Content-Security-Policy"] == console.CSP
    assert resp.body.decode() == (ROOT / name).read_text()


@pytest.mark.parametrize("path", ["/console/nope.js", "/console/..%2Fopenapi.json", "/console/app.py",
                                  "/console/%2e%2e"])
def test_anything_else_is_a_404_in_the_api_format(http, path):
    resp = http.get(path)
    assert resp.status_code == 404
    error = json.loads(resp.body)["error"]
    assert error["code"] == "not_found" and "/console" in error["message"]


def test_no_asset_refers_to_another_origin_or_inlines_script():
    for path in ROOT.iterdir():
        text = path.read_text()
        if path.suffix != ".svg":   # the SVG's xmlns is a name, not a request
            hosts = set(re.findall(r"(?:https?:)?//([a-z0-9.-]+\.[a-z]{2,})\b", text, re.I))
            assert hosts <= {"example.com"}, (path.name, "an external URL", hosts)   # placeholders only
        assert not re.search(r"@import|url\(", text), (path.name, "CSS that fetches")
    html = (ROOT / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), "inline style or handler"


def test_every_module_import_is_a_served_file():
    served = set(console.files())
    for path in ROOT.glob("*.js"):
        for target in re.findall(r'from "\./([^"]+)"', path.read_text()):
            assert target in served, (path.name, target)
