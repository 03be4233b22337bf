"""`infrai tail`: new deliveries and their attempts as they happen."""
from __future__ import annotations

import json
import sys
import time
from typing import Any, Optional

import click
from rich.text import Text

from .deliveries import delivery_filters, filter_params
from ._base import Ctx, command, console, err_console, main, say, styled


def tail_line(d: dict, now: str) -> Text:
    """One event of `infrai tail`: every API value plain text, the id whole (soft-wrapped, never cut)."""
    last = d.get("last_attempt") or {}
    source = d.get("queue") or d.get("cron_id")
    return say(now, " ", d["delivery_id"], " ", d["kind"], f":{source}" if source else "", " ",
               styled(d["state"]), f" attempt {d['attempt_count']} ", d.get("host") or "", " ",
               str(last.get("status_code") or last.get("error") or ""))


@command(main, "tail", help="Follow new deliveries and their attempts as they happen (Ctrl-C to stop).")
@delivery_filters
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between reads.")
@click.option("--count", type=int, default=None, help="Stop after this many events (for scripts).")
@click.option("--since-now/--from-recent", default=True, show_default=True,
              help="Only what happens from now on, or start with the 20 most recent.")
def tail(ctx: Ctx, interval: float, count: Optional[int], since_now: bool, **filters: Any) -> None:
    """Polls the newest page of the list and prints what changed: a delivery seen for the first
    time, or one with a new attempt or state."""
    f = filter_params(filters)
    seen: dict[str, tuple] = {}
    events = 0
    first = True
    while True:
        page = ctx.client.deliveries.list(limit=100, **f)["items"]
        for d in reversed(page):
            mark = (d["state"], d["attempt_count"])
            if seen.get(d["delivery_id"]) == mark:
                continue
            new = d["delivery_id"] not in seen
            seen[d["delivery_id"]] = mark
            if first and since_now:
                continue
            events += 1
            event = {"event": "delivery" if new else "attempt", **d}
            if ctx.as_json:
                click.echo(json.dumps(event), nl=True)
                sys.stdout.flush()
            else:
                console.print(tail_line(d, time.strftime('%H:%M:%S')), soft_wrap=True)
            if count is not None and events >= count:
                return
        if first:
            err_console.print("[dim]following new deliveries and attempts (Ctrl-C to stop)[/dim]")
        first = False
        time.sleep(interval)


if __name__ == "__main__":   # pragma: no cover
    main()
