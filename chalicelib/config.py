"""Stage settings from the environment, read when first needed (never at import: moto must be
running before the first client, and tests change them). `.chalice/config.json` sets them per
stage; the local stack sets them for its own process."""
import base64
import logging
import os

from .aws import parameters
from .core import retry_policy
from .core.errors import ServiceUnavailable

log = logging.getLogger(__name__)


def stage() -> str:
    return os.environ.get("INFRAI_STAGE", "local")


def prefix() -> str:
    """Every resource name starts with this, so two stages live side by side in one account."""
    return os.environ.get("INFRAI_RESOURCE_PREFIX", f"infrai-{stage()}")


def table_name() -> str:
    return os.environ.get("INFRAI_TABLE", f"{prefix()}-data")


def idempotency_table_name() -> str:
    return os.environ.get("INFRAI_IDEMPOTENCY_TABLE", f"{prefix()}-idempotency")


def dispatch_queue_name() -> str:
    return os.environ.get("INFRAI_DISPATCH_QUEUE", f"{prefix()}-dispatch")


def dead_letter_queue_name() -> str:
    return os.environ.get("INFRAI_DLQ", f"{prefix()}-dlq")


def schedule_group() -> str:
    return os.environ.get("INFRAI_SCHEDULE_GROUP", prefix())


def scheduler_role_arn() -> str:
    return os.environ.get("INFRAI_SCHEDULER_ROLE_ARN", "")


def destination_arns() -> list[str] | None:
    """The deploy setting INFRAI_DESTINATION_ARNS: the SQS queue, EventBridge bus and role ARNs
    the functions' role was granted (core/destinations.py); None when it is not set (the local
    stack: any destination)."""
    raw = os.environ.get("INFRAI_DESTINATION_ARNS")
    return None if raw is None else [a for a in raw.replace(",", " ").split() if a]


def allow_private_targets() -> bool:
    """True only on the local stack (and tests): deployed stages never reach private addresses."""
    return os.environ.get("INFRAI_ALLOW_PRIVATE_TARGETS", "") == "1"


def seal_key_parameter() -> str:
    """INFRAI_SEAL_KEY_PARAMETER: the SSM SecureString holding the stage's sealing key, which
    provisioning makes (deploy/provision.py; `/infrai/<stage>/seal-key`). Unset: none."""
    return os.environ.get("INFRAI_SEAL_KEY_PARAMETER", "").strip()


def seal_keys() -> list[bytes]:
    """The at-rest sealing keys (core/at_rest.py), each base64 of 32 random bytes, several
    comma-separated during a rotation (the first seals, all unseal). From INFRAI_SEAL_KEY when set
    (the local stack makes one and keeps it beside its snapshot; the tests set one), else from the
    SSM parameter INFRAI_SEAL_KEY_PARAMETER names, read again every 5 minutes (aws/parameters.py): a
    deployed stage's, made by provisioning (docs/deployment.md#the-sealing-key). Unset, unreadable or malformed,
    nothing that needs sealing can be stored or used: a 503 saying so."""
    raw = os.environ.get("INFRAI_SEAL_KEY", "")
    source = "INFRAI_SEAL_KEY"
    if not raw.strip() and seal_key_parameter():
        source = f"the SSM parameter {seal_key_parameter()} (INFRAI_SEAL_KEY_PARAMETER)"
        try:
            raw = parameters.secure_string(seal_key_parameter())
        except parameters.Unreadable:
            raise ServiceUnavailable(f"This stage cannot read its sealing key, {source}, so it cannot store "
                                     "or use credentials; retry, and if it persists its operator must check "
                                     "the parameter (docs/deployment.md#the-sealing-key).") from None
    try:
        keys = [base64.b64decode(part.strip(), validate=True) for part in raw.split(",") if part.strip()]
    except ValueError:
        keys = []
    if not keys or any(len(k) != 32 for k in keys):
        log.error("%s must be base64 of 32 random bytes (docs/deployment.md#the-sealing-key)", source)
        raise ServiceUnavailable("This stage has no valid sealing key (INFRAI_SEAL_KEY, or the SSM parameter "
                                 "INFRAI_SEAL_KEY_PARAMETER names), so it cannot store or use credentials; its "
                                 "operator must provision one (docs/deployment.md#the-sealing-key).")
    return keys


def local_project_key() -> str | None:
    """Set only by the local stack (local/stack.py): the key of its own project, which
    `POST /v1/auth/activate` then hands out instead of making a trial project, so local
    development has one project, one key and one signing secret (the ones the banner shows)."""
    return os.environ.get("INFRAI_LOCAL_PROJECT_KEY") or None


def retry_schedule():
    return retry_policy.parse_schedule(os.environ.get("INFRAI_RETRY_SCHEDULE"))


# The deliver function's SQS event source: at most this many invocations at once, each a batch
# of 10 sent concurrently (docs/deployment.md#sizing-the-deliver-function has the arithmetic).
# Lambda accepts 2 to 1,000 (ScalingConfig.MaximumConcurrency). The default takes half of an
# account's default 1,000 concurrent executions and leaves the rest to the API and the reconciler.
DELIVER_CONCURRENCY_DEFAULT = 500
DELIVER_CONCURRENCY_MIN, DELIVER_CONCURRENCY_MAX = 2, 1000
# The deliver event source gathers up to 10 messages for up to this long: full batches at
# volume, so a batch's shared reads (secrets, endpoints) and SQS calls are made once per 10.
DELIVER_BATCH_WINDOW_SECONDS = 1


def deliver_concurrency() -> int:
    """A deploy setting: read when app.py is imported, so `chalice deploy` and `chalice package`
    (and `make deploy`/`make package DELIVER_CONCURRENCY=n`) put it on the event source; the
    running functions never use it. An unset or empty value is the default; anything else must
    be a whole number in Lambda's range, or this raises ValueError saying so."""
    raw = os.environ.get("INFRAI_DELIVER_CONCURRENCY", "").strip()
    if not raw:
        return DELIVER_CONCURRENCY_DEFAULT
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not DELIVER_CONCURRENCY_MIN <= value <= DELIVER_CONCURRENCY_MAX:
        raise ValueError(
            f"INFRAI_DELIVER_CONCURRENCY={raw!r}: the deliver function's maximum concurrency must be a "
            f"whole number from {DELIVER_CONCURRENCY_MIN} to {DELIVER_CONCURRENCY_MAX} (Lambda's range for "
            f"an SQS event source; unset for the default, {DELIVER_CONCURRENCY_DEFAULT})")
    return value


# The data table's capacity mode, a deploy setting (docs/deployment.md#table-capacity-on-demand-or-provisioned):
# on-demand (the default) or provisioned with Application Auto Scaling between a minimum and a
# maximum, tracking a target utilization. The idempotency table stays on-demand.
TABLE_CAPACITY_MODES = ("on-demand", "provisioned")
TABLE_CAPACITY_UNITS_DEFAULT = (25, 40_000)
CAPACITY_TARGET_DEFAULT, CAPACITY_TARGET_MIN, CAPACITY_TARGET_MAX = 70, 20, 90
_FIX_CAPACITY = "docs/deployment.md#table-capacity-on-demand-or-provisioned"


def table_capacity() -> dict | None:
    """INFRAI_TABLE_CAPACITY: None for on-demand (unset, empty or "on-demand"); for "provisioned",
    {"write": (min, max), "read": (min, max), "target": percent} from INFRAI_WRITE_CAPACITY and
    INFRAI_READ_CAPACITY ("<min>-<max>" units, each table and index alike) and
    INFRAI_CAPACITY_TARGET. Read by provisioning and packaging only; a bad value raises
    ValueError naming the setting and saying how to fix it."""
    mode = os.environ.get("INFRAI_TABLE_CAPACITY", "").strip().lower() or "on-demand"
    if mode not in TABLE_CAPACITY_MODES:
        raise ValueError(f"INFRAI_TABLE_CAPACITY={mode!r}: the data table's capacity mode is one of "
                         f"{', '.join(TABLE_CAPACITY_MODES)} (unset for on-demand; {_FIX_CAPACITY})")
    if mode == "on-demand":
        return None
    return {"write": _capacity_range("INFRAI_WRITE_CAPACITY"), "read": _capacity_range("INFRAI_READ_CAPACITY"),
            "target": _capacity_target()}


def _capacity_range(name: str) -> tuple[int, int]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return TABLE_CAPACITY_UNITS_DEFAULT
    low, sep, high = raw.partition("-")
    if sep and low.strip().isdecimal() and high.strip().isdecimal() and 1 <= int(low) <= int(high):
        return int(low), int(high)
    lo, hi = TABLE_CAPACITY_UNITS_DEFAULT
    raise ValueError(f"{name}={raw!r}: give the capacity units as <min>-<max>, whole numbers with "
                     f"1 <= min <= max, e.g. {lo}-{hi} (unset for that default; {_FIX_CAPACITY})")


def _capacity_target() -> int:
    given = os.environ.get("INFRAI_CAPACITY_TARGET", "").strip()
    raw = given.removesuffix("%").strip()
    if not raw:
        return CAPACITY_TARGET_DEFAULT
    if raw.isdecimal() and CAPACITY_TARGET_MIN <= int(raw) <= CAPACITY_TARGET_MAX:
        return int(raw)
    raise ValueError(f"INFRAI_CAPACITY_TARGET={given!r}: the target utilization is a whole percent from "
                     f"{CAPACITY_TARGET_MIN} to {CAPACITY_TARGET_MAX} (unset for {CAPACITY_TARGET_DEFAULT}; "
                     f"{_FIX_CAPACITY})")



def otlp_endpoint() -> str | None:
    """INFRAI_OTLP_ENDPOINT: where the deliver function exports its spans over OTLP/HTTP (JSON),
    e.g. `http://localhost:4318` for the ADOT collector layer; unset (the default) exports none.
    A base URL gets `/v1/traces` appended; a URL already ending in it is used as it is."""
    raw = os.environ.get("INFRAI_OTLP_ENDPOINT", "").strip()
    if not raw:
        return None
    return raw if raw.rstrip("/").endswith("/v1/traces") else raw.rstrip("/") + "/v1/traces"


def otlp_headers() -> dict:
    """INFRAI_OTLP_HEADERS: `name=value,name2=value2` sent with each export (a backend's API key),
    in the form of OTEL_EXPORTER_OTLP_HEADERS. Never logged."""
    out = {}
    for part in os.environ.get("INFRAI_OTLP_HEADERS", "").split(","):
        name, eq, value = part.partition("=")
        if eq and name.strip():
            out[name.strip()] = value.strip()
    return out
