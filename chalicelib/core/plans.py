"""What each plan may do, in one place. A stage can override any number with the environment
variable INFRAI_PLAN_LIMITS, e.g. '{"trial": {"deliveries_per_day": 5000}}'. None = no limit."""
import json
import os

PLANS = {
    # An anonymous project from POST /v1/auth/activate.
    "trial": {
        "cron_jobs": 20,                 # active and paused: each is an EventBridge schedule
        "queues": 50,
        "topics": 20,                    # each takes up to 1,000 subscriptions
        "deliveries_per_day": 1000,      # webhook sends, queue publishes and cron triggers accepted per UTC day
        "payload_bytes": 64 * 1024,
        "publishes_per_second": 10,      # API requests that create deliveries, per second
        "api_keys": 5,
        "attempts_per_day": 5000,        # HTTP attempts made per UTC day, retries and replays included
    },
    # The local stack's own project, and self-hosted deployments' projects made by an operator.
    "unlimited": {
        "cron_jobs": None, "queues": None, "topics": None, "deliveries_per_day": None,
        "payload_bytes": 256 * 1024, "publishes_per_second": None, "api_keys": 20, "attempts_per_day": None,
    },
}

# POST /v1/auth/activate is open to the internet: projects per caller network (an IPv4 /24 or an
# IPv6 /64, the smallest block one party is likely to hold) over any sliding hour.
ACTIVATIONS_PER_HOUR_PER_ADDRESS = 5


def limits(plan: str) -> dict:
    base = dict(PLANS.get(plan, PLANS["trial"]))
    override = os.environ.get("INFRAI_PLAN_LIMITS")
    if override:
        base.update(json.loads(override).get(plan, {}))
    return base


def activations_per_hour() -> int:
    return int(os.environ.get("INFRAI_ACTIVATIONS_PER_HOUR", ACTIVATIONS_PER_HOUR_PER_ADDRESS))
