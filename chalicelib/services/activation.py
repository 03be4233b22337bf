"""`POST /v1/auth/activate`: an anonymous trial project and its first key, for anyone, so
rate-limited per caller address (the counter's condition also checks its own expiry).
On the local stack it answers with the stack's own project instead (config.local_project_key)."""
from .. import config
from ..aws import store
from ..core import clock, plans
from ..core.errors import QuotaExceeded
from . import projects


def activate(source_ip: str | None) -> dict:
    local_key = config.local_project_key()
    if local_key:
        return projects.activation_for_key(local_key)
    now = clock.now()
    hour = int(now) // 3600
    cap = plans.activations_per_hour()
    resets = (hour + 1) * 3600
    try:
        store.update(f"ACTIVATE#{source_ip or 'unknown'}", f"H#{hour}", {"ttl": resets + 3600}, adds={"n": 1},
                     condition="attribute_not_exists(n) OR n < :cap", values={":cap": cap})
    except store.ConditionFailed:
        raise QuotaExceeded(f"Too many activations from your address: {cap} per hour. Reuse the key you "
                            f"got (~/.infrai/credentials), or try again after {clock.rfc3339(resets)}.",
                            limit="activations_per_hour", limit_value=cap,
                            resets_at=clock.rfc3339(resets)) from None
    return projects.create_project(plan="trial")
