"""Operational events (issue 15). A stand-in so this branch (issue-15c, missed cron runs) can
call `emit`: issue-15b's version (the events URL, signed event deliveries) replaces this file
at merge; keep its signature."""


def emit(project_id: str, event_type: str, data: dict, *, now: float | None = None) -> None:
    """Tell the project's events URL that `event_type` happened, with `data`. Does nothing here;
    see the module docstring."""
