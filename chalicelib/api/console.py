"""The web console (docs/console.md): static files from chalicelib/console, served by the API
itself so `chalice package`/deploy ships them with the code. No key is needed for the files;
the page calls the public API with the key the user typed (kept in the tab's sessionStorage).

Not API operations: these routes are left out of chalicelib/openapi.json and the SDKs (the
contract test skips paths under PREFIX). The page is at `/console` (no trailing slash) and
refers to its files relatively (`console/app.js`), so it works under an API Gateway stage too."""
import functools
import os

from chalice import Blueprint, Response

from ..core.errors import NotFound
from .errors import json_errors

bp = Blueprint(__name__)
PREFIX = "/console"
ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "console")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# Every asset is ours: no other origin, no inline script or style, no plugins, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           # a new deploy is seen on the next load; the files are small
           "Cache-Control": "no-cache"}
INDEX = "index.html"


@functools.lru_cache(maxsize=1)
def files() -> dict[str, tuple[str, str]]:
    """name -> (text, content type), read once per process. Only these names are served: a
    request path is never joined to the file system."""
    out = {}
    for name in sorted(os.listdir(ROOT)):
        kind = TYPES.get(os.path.splitext(name)[1])
        if kind:
            with open(os.path.join(ROOT, name), encoding="utf-8") as f:
                out[name] = (f.read(), kind)
    return out


def _serve(name: str) -> Response:
    found = files().get(name)
    if found is None:
        raise NotFound(f"The console has no file '{name[:64]}'; open {PREFIX}.", field=None)
    text, kind = found
    return Response(body=text, status_code=200, headers={"Content-Type": kind, **HEADERS})


@bp.route(PREFIX, methods=["GET"])
@json_errors
def index():
    return _serve(INDEX)


@bp.route(PREFIX + "/{name}", methods=["GET"])
@json_errors
def asset(name):
    # index.html only at PREFIX: from /console/index.html its relative links would break
    return _serve(name if name != INDEX else "")
