"""The data table's capacity mode, a deploy setting (chalicelib/config.py table_capacity;
docs/deployment.md#table-capacity-on-demand-or-provisioned): on-demand (the default), or
provisioned with Application Auto Scaling tracking a target utilization on the table and on
each of its indexes, writes and reads alike (DynamoDB bills and throttles every index on its
own). The scaling targets and policies are written once here: provision.py makes them with
boto3 (prepare, scale, describe, remove), template.py as CloudFormation (cloudformation).

No role is given: Application Auto Scaling uses its service-linked role for DynamoDB, made on
first use. The idempotency table stays on-demand (a handful of writes per request at most)."""
import re

from chalicelib import config

NAMESPACE = "dynamodb"
_UNITS = {"write": "WriteCapacityUnits", "read": "ReadCapacityUnits"}
_METRICS = {"write": "DynamoDBWriteCapacityUtilization", "read": "DynamoDBReadCapacityUtilization"}
_FIX = "docs/deployment.md#table-capacity-on-demand-or-provisioned"


def table_capacity() -> dict | None:
    """The setting (None: on-demand); a bad value stops the deploy or package before anything
    is made, saying which setting and how to fix it."""
    try:
        return config.table_capacity()
    except ValueError as e:
        raise SystemExit(str(e)) from None


def scaling(spec: dict, capacity: dict | None) -> list[dict]:
    """For the table and each index, for writes then reads: the scalable target (min and max
    units) and its target-tracking policy. None for on-demand."""
    if capacity is None:
        return []
    name = spec["TableName"]
    parts = [(None, f"table/{name}")] + [(g["IndexName"], f"table/{name}/index/{g['IndexName']}")
                                         for g in spec.get("GlobalSecondaryIndexes", [])]
    out = []
    for index, resource_id in parts:
        for kind, unit in _UNITS.items():
            low, high = capacity[kind]
            where = {"ServiceNamespace": NAMESPACE, "ResourceId": resource_id,
                     "ScalableDimension": f"dynamodb:{'index' if index else 'table'}:{unit}"}
            out.append({"index": index, "kind": kind,
                        "target": {**where, "MinCapacity": low, "MaxCapacity": high},
                        "policy": {**where, "PolicyName": f"{name}-{index or 'table'}-{kind}",
                                   "PolicyType": "TargetTrackingScaling",
                                   "TargetTrackingScalingPolicyConfiguration": {
                                       "TargetValue": float(capacity["target"]),
                                       "PredefinedMetricSpecification": {
                                           "PredefinedMetricType": _METRICS[kind]}}}})
    return out


def cloudformation(spec: dict, capacity: dict | None, table_id: str) -> dict:
    """The targets and policies as template resources, each after the table. They are made one
    after another: made all at once, their CloudWatch alarms (four per policy) can exceed
    PutMetricAlarm's rate and fail the stack."""
    res, previous = {}, None
    for s in scaling(spec, capacity):
        base = table_id + "".join(p.capitalize() for p in re.split(r"[^0-9A-Za-z]+", s["index"] or "") if p) + \
            s["kind"].capitalize()
        target_id, policy_id = base + "ScalableTarget", base + "ScalingPolicy"
        res[target_id] = {"Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                          "DependsOn": [table_id] + ([previous] if previous else []),
                          "Properties": dict(s["target"])}
        policy = {k: v for k, v in s["policy"].items() if k not in ("ServiceNamespace", "ResourceId",
                                                                    "ScalableDimension")}
        res[policy_id] = {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "DependsOn": [table_id],
                          "Properties": {**policy, "ScalingTargetId": {"Ref": target_id}}}
        previous = policy_id
    return res


def billing_mode(table: dict) -> str:
    """A table's mode as DescribeTable reports it (a table made provisioned may carry no summary)."""
    return table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")


def prepare(ddb, aas, spec: dict, capacity: dict | None) -> str | None:
    """Before the tables are made or brought up to date: an existing data table in the other
    mode is switched to the wanted one, then a table that was provisioned loses the scaling the
    setting no longer asks for (all of it when it went on-demand: DynamoDB keeps scaling set
    through the API across a switch, to apply again if the table goes back). Returns the mode
    switched to, or None. Nothing here calls Application Auto Scaling for a table that is and
    stays on-demand; a refused switch changes nothing."""
    name = spec["TableName"]
    try:
        table = ddb.describe_table(TableName=name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        return None   # made in the wanted mode from the spec
    current, wanted = billing_mode(table), spec["BillingMode"]
    if current != wanted:
        _switch(ddb, table, spec)
    if current == "PROVISIONED":
        _remove_unwanted(aas, spec, capacity)
    return wanted if current != wanted else None


def _switch(ddb, table: dict, spec: dict) -> None:
    name, current, wanted = spec["TableName"], billing_mode(table), spec["BillingMode"]
    change = {"TableName": name, "BillingMode": wanted}
    if wanted == "PROVISIONED":   # DynamoDB wants every index's throughput in the same call
        change["ProvisionedThroughput"] = spec["ProvisionedThroughput"]
        if table.get("GlobalSecondaryIndexes"):
            change["GlobalSecondaryIndexUpdates"] = [
                {"Update": {"IndexName": g["IndexName"], "ProvisionedThroughput": spec["ProvisionedThroughput"]}}
                for g in table["GlobalSecondaryIndexes"]]
    try:
        ddb.update_table(**change)
    except ddb.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        raise SystemExit(
            f"the data table {name} could not be switched from {current} to {wanted} billing: "
            f"{err.get('Code')}: {err.get('Message')}. DynamoDB allows four switches to on-demand per "
            "table in a rolling 24 hours, and none while the table or an index is being updated: deploy again "
            f"later, or set INFRAI_TABLE_CAPACITY back to what the table has ({_FIX})") from None
    ddb.get_waiter("table_exists").wait(TableName=name)   # ACTIVE again


def scale(aas, spec: dict, capacity: dict | None) -> list[str]:
    """Once the table and its indexes exist in provisioned mode: each scalable target and policy
    registered, or changed where it differs. Returns what changed ("<resource id> <dimension>")."""
    if capacity is None:
        return []
    targets = {(t["ResourceId"], t["ScalableDimension"]): t for t in _targets(aas, spec["TableName"])}
    policies = {p["PolicyName"]: p for p in _policies(aas, spec["TableName"])}
    changed = []
    for s in scaling(spec, capacity):
        key = (s["target"]["ResourceId"], s["target"]["ScalableDimension"])
        have = targets.get(key, {})
        if (have.get("MinCapacity"), have.get("MaxCapacity")) != (s["target"]["MinCapacity"], s["target"]["MaxCapacity"]):
            aas.register_scalable_target(**s["target"])
            changed.append(" ".join(key))
        policy = policies.get(s["policy"]["PolicyName"], {})
        if {k: policy.get(k) for k in s["policy"]} != s["policy"]:
            aas.put_scaling_policy(**s["policy"])
            changed.append(" ".join(key) + " policy")
    return changed


def describe(ddb, aas, table_name: str) -> dict:
    """The data table's mode and, when provisioned, its scalable targets and policies."""
    mode = billing_mode(ddb.describe_table(TableName=table_name)["Table"])
    if mode != "PROVISIONED":
        return {"mode": mode, "scalable_targets": [], "scaling_policies": []}
    keep_target = ("ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity")
    keep_policy = ("PolicyName", "ResourceId", "ScalableDimension", "PolicyType",
                   "TargetTrackingScalingPolicyConfiguration")
    return {"mode": mode,
            "scalable_targets": sorted(({k: t[k] for k in keep_target} for t in _targets(aas, table_name)),
                                       key=lambda t: (t["ResourceId"], t["ScalableDimension"])),
            "scaling_policies": sorted(({k: p.get(k) for k in keep_policy} for p in _policies(aas, table_name)),
                                       key=lambda p: p["PolicyName"])}


def remove(ddb, aas, table_name: str) -> None:
    """Before the table is deleted: its scaling policies and targets (deleting a table leaves
    them behind)."""
    try:
        mode = billing_mode(ddb.describe_table(TableName=table_name)["Table"])
    except ddb.exceptions.ResourceNotFoundException:
        return
    if mode == "PROVISIONED":
        _remove_unwanted(aas, {"TableName": table_name}, None)


def _remove_unwanted(aas, spec: dict, capacity: dict | None) -> None:
    """Scaling on the table that the setting no longer asks for: all of it when on-demand, an
    index's when the index is gone from the spec."""
    wanted = {(s["target"]["ResourceId"], s["target"]["ScalableDimension"]) for s in scaling(spec, capacity)}
    for p in _policies(aas, spec["TableName"]):
        if (p["ResourceId"], p["ScalableDimension"]) not in wanted:
            aas.delete_scaling_policy(PolicyName=p["PolicyName"], ServiceNamespace=NAMESPACE,
                                      ResourceId=p["ResourceId"], ScalableDimension=p["ScalableDimension"])
    for t in _targets(aas, spec["TableName"]):
        if (t["ResourceId"], t["ScalableDimension"]) not in wanted:
            aas.deregister_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=t["ResourceId"],
                                           ScalableDimension=t["ScalableDimension"])


def _ours(resource_id: str, table_name: str) -> bool:
    return resource_id == f"table/{table_name}" or resource_id.startswith(f"table/{table_name}/index/")


def _targets(aas, table_name: str) -> list[dict]:
    return [t for page in aas.get_paginator("describe_scalable_targets").paginate(ServiceNamespace=NAMESPACE)
            for t in page["ScalableTargets"] if _ours(t["ResourceId"], table_name)]


def _policies(aas, table_name: str) -> list[dict]:
    return [p for page in aas.get_paginator("describe_scaling_policies").paginate(ServiceNamespace=NAMESPACE)
            for p in page["ScalingPolicies"] if _ours(p["ResourceId"], table_name)]
