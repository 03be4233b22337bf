"""Operational events (endpoint.held, endpoint.released, ...) for a project's events URL.

A placeholder on branch issue-15a: issue-15b owns this module and replaces it at merge (the
lead resolves the add/add conflict by taking issue-15b's version). Until then it does nothing."""


def emit(project_id: str, event_type: str, data: dict, *, now: float | None = None) -> None:
    """Post a signed operational event to the project's events URL (no-op placeholder)."""
    return None
