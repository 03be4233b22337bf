from chalice import Blueprint

bp = Blueprint(__name__)


@bp.route("/v1/health", methods=["GET"])
def health():
    return {"status": "ok"}
