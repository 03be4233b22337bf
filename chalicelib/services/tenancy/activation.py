"""`POST /v1/auth/activate`: an anonymous trial project and its first key, for anyone, so
rate-limited per caller *network* (an IPv4 /24, an IPv6 /64: one party easily holds every address
of such a block) over a sliding hour, exactly: the block's item keeps the times of its last
activations and is replaced only if no one else changed it meanwhile (a conditional write).
On the local stack it answers with the stack's own project instead (config.local_project_key)."""
import ipaddress

from ... import config
from ...aws import store
from ...core import clock, plans
from ...core.errors import QuotaExceeded
from . import projects

WINDOW = 3600
TRIES = 8   # concurrent activations from one block retry their conditional write this often


def network(source_ip: str | None) -> str:
    """The block an address is limited as: '203.0.113.0/24', '2001:db8:1:2::/64' or 'unknown'."""
    try:
        address = ipaddress.ip_address((source_ip or "").strip())
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    bits = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def activate(source_ip: str | None) -> dict:
    local_key = config.local_project_key()
    if local_key:
        return projects.activation_for_key(local_key)
    _take_activation(network(source_ip))
    return projects.create_project(plan="trial")


def _take_activation(block: str) -> None:
    cap = plans.activations_per_hour()
    pk, sk = f"ACTIVATE#{block}", "WINDOW"
    for _ in range(TRIES):
        now = clock.now()
        item = store.get(pk, sk)
        recent = sorted(t for t in (item or {}).get("times", []) if t > now - WINDOW)
        if len(recent) >= cap:
            frees = recent[len(recent) - cap] + WINDOW
            raise QuotaExceeded(f"Too many activations from your network ({block}): {cap} per hour. Reuse "
                                f"the key you got (~/.infrai/credentials), or try again after "
                                f"{clock.rfc3339(frees)}.", limit="activations_per_hour", limit_value=cap,
                                resets_at=clock.rfc3339(frees), retry_after=frees - now)
        fresh = {"pk": pk, "sk": sk, "times": recent + [now], "v": (item or {}).get("v", 0) + 1,
                 "ttl": int(now) + WINDOW + 3600}
        try:
            if item is None:
                store.put(fresh, condition="attribute_not_exists(pk)")
            else:
                store.put(fresh, condition="v = :v", values={":v": item.get("v", 0)})
            return
        except store.ConditionFailed:
            continue   # another activation from this block won the write: read it again
    raise QuotaExceeded("Too many activations from your network at once; try again in a second.",
                        limit="activations_per_hour", limit_value=cap, resets_at=None, retry_after=1)
