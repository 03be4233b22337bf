"""Stage settings from the environment, read when first needed (never at import: moto must be
running before the first client, and tests change them). `.chalice/config.json` sets them per
stage; the local stack sets them for its own process."""
import os

from .core import retry_policy


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


def allow_private_targets() -> bool:
    """True only on the local stack (and tests): deployed stages never reach private addresses."""
    return os.environ.get("INFRAI_ALLOW_PRIVATE_TARGETS", "") == "1"


def local_project_key() -> str | None:
    """Set only by the local stack (local/stack.py): the key of its own project, which
    `POST /v1/auth/activate` then hands out instead of making a trial project, so local
    development has one project, one key and one signing secret (the ones the banner shows)."""
    return os.environ.get("INFRAI_LOCAL_PROJECT_KEY") or None


def retry_schedule():
    return retry_policy.parse_schedule(os.environ.get("INFRAI_RETRY_SCHEDULE"))
