"""What every producer (a webhook send, a queue's endpoint, a cron job) accepts about the
deliveries it makes: the target URL and the callback URLs, each checked like a target, and the
bounds of retries, timeout and delay. One rule for all, so the three never drift apart."""
from ... import config, sender
from ...core import validation

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
