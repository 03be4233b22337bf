"""The API function behind an API Gateway HTTP API (the packaged template's default front door:
deploy/template.py, docs/deployment.md#the-front-door-http-api-or-rest-api).

The HTTP API sends every request through two routes, `ANY /{proxy+}` and `ANY /`, with payload
format 1.0: the REST API's proxy event (headers, multiValueQueryStringParameters, body,
isBase64Encoded, requestContext.httpMethod), except that `resource` and
`requestContext.resourcePath` name the HTTP API's route (`/{proxy+}`) and `pathParameters` is
`{"proxy": "v1/..."}`. Chalice 1.34 has no HTTP API support (aws/chalice#1321) and finds a view
by `resourcePath` alone (`RestAPIEventHandler`: `self.routes[resource_path]`, a defaultdict), so
it answers every such event 405 "Unsupported method", whatever the path. `entry(app)` matches the request's path against the app's routes as the REST
API does (a literal segment wins over a `{param}`), then hands Chalice the event the REST API
would have sent: the route as resource and resourcePath, its captures as pathParameters. A path
no route has is answered here, with the 404 the REST API's gateway response gives; a method a
path lacks is Chalice's 405, in our error format (errors.chalice_answers_in_our_format)."""
from .errors import JSON, NO_ROUTE


class Routes:
    """Route templates (`/v1/scheduling/cron/{cron_id}`) matched against request paths."""

    def __init__(self, templates):
        self._routes = [(t, _segments(t)) for t in templates]

    def match(self, path: str) -> tuple[str, dict] | None:
        """(route template, captured parameters), or None. Where several routes match, the one
        with a literal segment where the other has a parameter, first from the left, wins."""
        parts = _segments(path)
        best = None
        for template, segments in self._routes:
            if len(segments) != len(parts):
                continue
            captured, rank = {}, []
            for segment, part in zip(segments, parts):
                if segment.startswith("{") and segment.endswith("}"):
                    if not part:
                        break
                    captured[segment[1:-1]] = part
                    rank.append(1)
                elif segment != part:
                    break
                else:
                    rank.append(0)
            else:
                if best is None or rank < best[0]:
                    best = (rank, template, captured)
        return (best[1], best[2]) if best else None


def _segments(path: str) -> list[str]:
    path = path.strip("/")           # API Gateway drops a trailing slash: /v1/health/ is /v1/health
    return path.split("/") if path else []


def _path(event: dict) -> str:
    """The request's path; on a named stage (not `$default`) without the stage's prefix."""
    context = event.get("requestContext") or {}
    path = event.get("path") or context.get("path") or "/"
    stage = context.get("stage")
    if stage and stage != "$default" and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1:] or "/"
    return path


def not_found() -> dict:
    """The proxy response for a path no route has (what the REST API's gateway response says)."""
    return {"statusCode": 404, "headers": dict(JSON), "body": NO_ROUTE, "isBase64Encoded": False}


def entry(app):
    """The Lambda handler for `app` behind an HTTP API (payload format 1.0). A REST API event
    (its resourcePath already one of the app's routes) passes through unchanged."""
    routes = []

    def handler(event, context):
        resource = (event.get("requestContext") or {}).get("resourcePath")
        if app.routes.get(resource):   # .get: app.routes is a defaultdict, a lookup would add the key
            return app(event, context)
        if not routes:   # every blueprint is registered by the first request
            routes.append(Routes([path for path, methods in app.routes.items() if methods]))
        found = routes[0].match(_path(event))
        if found is None:
            return not_found()
        route, params = found
        event = {**event, "resource": route, "pathParameters": params or None,
                 "requestContext": {**(event.get("requestContext") or {}), "resourcePath": route}}
        return app(event, context)

    return handler
