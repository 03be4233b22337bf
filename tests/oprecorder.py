"""Record every AWS operation the service's own code makes, for the least-privilege test
(tests/deploy/test_least_privilege.py).

`install()` wraps botocore's one entry point for API calls, so every client sees it (made
before or after, boto3 or Powertools). A call is recorded only when a frame of `chalicelib/` is on
the stack: provisioning (local/, deploy/) and test helpers (scans, receives) are not what the
deployed functions do. When INFRAI_OPS_LOG names a file, each distinct call is appended to it as

    service:Operation<TAB>{"table": "table", "index": "gsi1", ...}

where resources are named by their role in chalicelib/config.py ("table", "idempotency_table",
"dispatch_queue", "dead_letter_queue", "schedule_group", "scheduler_role", "seal_key_parameter"),
or "other:<name>",
so the test can map them onto any stage's names."""
import json
import os
import sys
import threading

_lock = threading.Lock()
_seen: set = set()
_installed = False


def install() -> None:
    """Idempotent. Does nothing unless INFRAI_OPS_LOG is set when a call is made."""
    global _installed
    if _installed:
        return
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def _make_api_call(self, operation_name, api_params):
        path = os.environ.get("INFRAI_OPS_LOG")
        if path and _called_from_chalicelib():
            try:
                _record(path, self.meta.service_model.service_name, operation_name, api_params,
                        self.meta.region_name)
            except Exception as e:  # noqa: BLE001 - recording must never break the call
                print(f"oprecorder: {e!r}", file=sys.stderr)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = _make_api_call
    _installed = True


def _called_from_chalicelib() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if "/chalicelib/" in "/" + frame.f_code.co_filename.replace("\\", "/"):
            return True
        frame = frame.f_back
    return False


def _from_destinations() -> bool:
    """Whether the call is a delivery to a destination (made by chalicelib/aws/destinations.py)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.replace("\\", "/").endswith("/chalicelib/aws/destinations.py"):
            return True
        frame = frame.f_back
    return False


def _record(path: str, service: str, operation: str, params: dict, region: str = "us-east-1") -> None:
    line = f"{service}:{operation}\t{json.dumps(details(service, operation, params, region), sort_keys=True)}"
    with _lock:
        if line in _seen:
            return
        _seen.add(line)
        with open(path, "a") as f:
            f.write(line + "\n")


def _roles() -> dict:
    from chalicelib import config
    return {
        "table": {config.table_name(): "table", config.idempotency_table_name(): "idempotency_table"},
        "queue": {config.dispatch_queue_name(): "dispatch_queue",
                  config.dead_letter_queue_name(): "dead_letter_queue"},
        "group": {config.schedule_group(): "schedule_group"},
        "role": {config.scheduler_role_arn(): "scheduler_role"},
        "parameter": {config.seal_key_parameter(): "seal_key_parameter"},
    }


def _name(roles: dict, kind: str, value) -> str:
    return roles[kind].get(value, f"other:{value}")


def details(service: str, operation: str, params: dict, region: str = "us-east-1") -> dict:
    """What an IAM policy is evaluated against: the resources a call touches. A subscription's
    destination in the user's account (chalicelib/aws/destinations.py) is named
    "destination:<its ARN>": the deploy grants those by the setting, not by the stage's policy file."""
    roles = _roles()
    out: dict = {}
    if service == "dynamodb":
        if "TableName" in params:
            out["table"] = _name(roles, "table", params["TableName"])
        if "IndexName" in params:
            out["index"] = params["IndexName"]
        if "TransactItems" in params:        # authorised per item: Put -> dynamodb:PutItem, ...
            out["items"] = sorted({(kind, _name(roles, "table", body["TableName"]))
                                   for item in params["TransactItems"] for kind, body in item.items()})
        if "RequestItems" in params:         # BatchGetItem / BatchWriteItem
            out["tables"] = sorted(_name(roles, "table", t) for t in params["RequestItems"])
    elif service == "sqs":
        if "QueueUrl" in params:
            out["queue"] = _name(roles, "queue", params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1])
            account, name = params["QueueUrl"].rstrip("/").split("/")[-2:]
            if out["queue"].startswith("other:") and _from_destinations():
                out["queue"] = f"destination:arn:aws:sqs:{region}:{account}:{name}"
        if "QueueName" in params:
            out["queue"] = _name(roles, "queue", params["QueueName"])
    elif service == "events" and _from_destinations():
        out["buses"] = sorted({f"destination:{e.get('EventBusName')}" for e in params.get("Entries", [])})
    elif service == "sts" and "RoleArn" in params and _from_destinations():
        out["role"] = f"destination:{params['RoleArn']}"
    elif service == "ssm":
        if "Name" in params:
            out["parameter"] = _name(roles, "parameter", params["Name"])
    elif service == "scheduler":
        if operation.endswith("ScheduleGroup") or operation == "ListSchedules":
            group = params.get("Name") if operation.endswith("ScheduleGroup") else params.get("GroupName")
            out["group"] = _name(roles, "group", group or "default")
        else:
            out["group"] = _name(roles, "group", params.get("GroupName") or "default")
            if "Name" in params:
                out["schedule"] = "named"
        role = (params.get("Target") or {}).get("RoleArn")
        if role:
            from chalicelib import config
            # Unconfigured (tests, local stack), the code passes a stand-in for the stage's role;
            # configured, it must pass exactly the configured one.
            out["passes_role"] = _name(roles, "role", role) if config.scheduler_role_arn() else "scheduler_role"
    return out
