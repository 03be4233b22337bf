from chalice import Blueprint

from .http import route

bp = Blueprint(__name__)


@route(bp, "/v1/health", ["GET"], scope="public")
def health():
    return {"status": "ok"}
