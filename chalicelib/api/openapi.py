"""`GET /v1/openapi.json`: the API's OpenAPI 3.1 document (chalicelib/openapi.json), no auth.
Read on first request, not at import (cold start), then kept for the life of the process."""
import functools
import json
import os

from chalice import Blueprint, Response

from .http import route

bp = Blueprint(__name__)
SPEC_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "openapi.json")


@functools.lru_cache(maxsize=1)
def spec_text() -> str:
    with open(SPEC_PATH, encoding="utf-8") as f:
        return json.dumps(json.load(f), separators=(",", ":"), ensure_ascii=False)


@route(bp, "/v1/openapi.json", ["GET"], scope="public")
def openapi_document():
    return Response(body=spec_text(), status_code=200,
                    headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"})
