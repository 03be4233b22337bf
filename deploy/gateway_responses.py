"""API Gateway's own answers, in our error format. Requests API Gateway refuses before the API
function runs (a path no route has, a method a path does not have, throttling, a body over its
limit, its own failures) get its default bodies otherwise: a 403 "Missing Authentication Token",
or, when the request carried an Authorization header, a message quoting that header. Each answer
here is a static body, `{"error": {"code", "message", "field": null}}`: it quotes nothing from
the request. Both deploy paths set them: the packaged template (make package) in the REST API's
OpenAPI definition, `make deploy` in its tune step (Chalice's deploy has no place for them)."""
import json

from chalicelib.api.errors import NO_ROUTE_MESSAGE

# response type -> (status, or None to keep API Gateway's; code; message; extra headers)
RESPONSES = {
    # API Gateway answers an unknown path *and* an unknown method on a known path this way
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", NO_ROUTE_MESSAGE, {}),
    "THROTTLED": ("429", "quota_exceeded", "Too many requests to the API at once; retry in a second.",
                  {"Retry-After": "1"}),
    "REQUEST_TOO_LARGE": ("413", "payload_too_large", "The request body is over the API's size limit; "
                          "send a smaller payload.", {}),
    "DEFAULT_4XX": (None, "invalid_request", "The request was refused before it reached the service; "
                    "check the method, path, headers and body against the API reference.", {}),
    "DEFAULT_5XX": (None, "unavailable", "The API could not take the request; nothing was changed. "
                    "Retry (with the same idempotency key).", {}),
}


def body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "field": None}})


def _parameters(headers: dict) -> dict:
    params = {"gatewayresponse.header.Content-Type": "'application/json'"}
    params.update({f"gatewayresponse.header.{k}": f"'{v}'" for k, v in headers.items()})
    return params


def openapi_extension() -> dict:
    """For the packaged template: the REST API's definition carries them (in the deployment it
    is created with; separate GatewayResponse resources would take effect only on a later one)."""
    out = {}
    for kind, (status, code, message, headers) in RESPONSES.items():
        out[kind] = {"responseTemplates": {"application/json": body(code, message)},
                     "responseParameters": _parameters(headers)}
        if status:
            out[kind]["statusCode"] = status
    return {"x-amazon-apigateway-gateway-responses": out}


def apply(apigateway, rest_api_id: str, stage_name: str) -> list[str]:
    """Set every response on a deployed API (only those that differ), then redeploy its stage
    (gateway responses take effect with a deployment). Returns the response types changed."""
    current = {r["responseType"]: r for r in apigateway.get_gateway_responses(restApiId=rest_api_id)["items"]}
    changed = []
    for kind, (status, code, message, headers) in RESPONSES.items():
        want = {"responseTemplates": {"application/json": body(code, message)},
                "responseParameters": _parameters(headers)}
        if status:
            want["statusCode"] = status
        have = current.get(kind, {})
        if any(have.get(k) != v for k, v in want.items()):
            apigateway.put_gateway_response(restApiId=rest_api_id, responseType=kind, **want)
            changed.append(kind)
    if changed:
        apigateway.create_deployment(restApiId=rest_api_id, stageName=stage_name,
                                     description="infrai: gateway responses in the API's error format")
    return changed
