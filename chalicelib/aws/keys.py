"""Where each record lives in the one table. Items are keyed by their own id (so load spreads
over partitions); the project owning them is an index key and is checked on every read."""


def project(project_id: str) -> tuple[str, str]:
    return f"PROJ#{project_id}", "PROJ"


def api_key(key_hash: str) -> tuple[str, str]:
    return f"KEY#{key_hash}", "KEY"


def delivery(delivery_id: str) -> tuple[str, str]:
    return f"DLV#{delivery_id}", "DLV"


def deliveries_of(project_id: str, kind: str) -> str:
    """gsi1 partition: a project's deliveries of one kind (webhook, queue:<name>, cron:<id>)."""
    return f"{project_id}#{kind}"


def deliveries_in_state(project_id: str, kind: str, state: str) -> str:
    """gsi2 partition: the same, narrowed to one state."""
    return f"{project_id}#{kind}#{state}"
