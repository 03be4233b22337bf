"""What every producer (a webhook send, a queue's endpoint, a cron job) accepts about the
deliveries it makes: the target URL and the callback URLs, each checked like a target, the
bounds of retries, timeout and delay, and the endpoint's `auth`. One rule for all, so the three never drift apart."""
from ... import config, sender
from ...core import breaker, endpoint_auth, flow_limits, retry_policy, validation
from ...core.errors import InvalidInput

CALLBACK_FIELDS = ("callback_url", "failure_callback_url")
MAX_RETRIES = 20
MAX_TIMEOUT = 300
MAX_DELAY = 365 * 24 * 3600


def check_url(body: dict, field="url") -> str:
    url = validation.string(body, field, max_len=2048)
    sender.check_url(url, allow_private=config.allow_private_targets(), field=field)
    return url


def callbacks(body: dict) -> dict:
    """`callback_url` and `failure_callback_url`, each checked like a target (None when absent)."""
    return {f: check_url(body, f) if body.get(f) is not None else None for f in CALLBACK_FIELDS}


def auth(body: dict, project_id: str, url: str | None, field: str = "auth") -> dict | None:
    """The stored form of `auth` (core/endpoint_auth.py; None when null): its token URL checked like
    a target, and, off the local stack, https (a client secret never crosses the network in clear)."""
    stored = endpoint_auth.check(body.get(field), project_id, field)
    if stored and stored["type"] == endpoint_auth.OAUTH2:
        where = f"{field}.token_url"
        check_url({where: stored["token_url"]}, where)
        if not config.allow_private_targets() and not stored["token_url"].lower().startswith("https://"):
            raise InvalidInput(f"'{where}' must be an https:// URL: the client secret is sent to it.", field=where)
    endpoint_auth.requires_https(stored, url, field)
    return stored


def endpoint_settings(body: dict) -> dict:
    """What a queue's endpoint and a topic's subscription (a queue underneath) take alike, for the
    fields `body` has: retries, timeout, paused, flow limits (services/receivers/flow_control.py),
    circuit breaker (null turns it off) and retry schedule (null: back to the default)."""
    out = {}
    if "retries" in body:
        out["retries"] = validation.integer(body, "retries", 3, 0, MAX_RETRIES)
    if "timeout_seconds" in body:
        out["timeout_seconds"] = validation.integer(body, "timeout_seconds", 30, 1, MAX_TIMEOUT)
    if "paused" in body:
        out["paused"] = validation.boolean(body, "paused", False)
    out.update(flow_limits.check(body))
    out.update(breaker.fields(body))
    if "retry_schedule" in body:
        out["retry_schedule"] = retry_policy.check(body["retry_schedule"])
    return out
