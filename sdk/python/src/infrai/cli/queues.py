"""`infrai queues`: named queues and their counts."""
from __future__ import annotations

from typing import Optional

import click
from rich.text import Text

from ._base import (Column, Ctx, command, console, emit, fit_table, flat, kv_table, main, more,
                    output_option, print_table, wants_wide)


@click.group(help="Named queues.")
def queues() -> None:
    pass


main.add_command(queues)


@command(queues, "ls", help="List queues with their message counts.")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
@output_option
def queues_ls(ctx: Ctx, limit: int, cursor: Optional[str], output: str) -> None:
    wide = wants_wide(ctx, output)
    page = ctx.client.queue.list(limit=limit, cursor=cursor)

    def render(p):
        rows = []
        for q in p["items"]:
            c = q.get("counts", {})
            rows.append([q["name"], q.get("url") or Text("(none: holding)", style="magenta"),
                         "yes" if q.get("paused") else "", *(c.get(s, 0) for s in ("held", "queued", "retrying", "failed"))])
        print_table(fit_table([Column("name", 0, True), Column("url", 5), Column("paused", 1), Column("held", 2),
                               Column("queued", 2), Column("retrying", 3), Column("failed", 2)], rows, wide=wide))
        more(p)
    emit(ctx, page, render)


@command(queues, "show", help="One queue.")
@click.argument("name")
def queues_show(ctx: Ctx, name: str) -> None:
    q = ctx.client.queue.get(name)
    emit(ctx, q, lambda r: console.print(kv_table({**flat(r, "auth"), **{f"count.{k}": v for k, v in r.get("counts", {}).items()}},
                                                  r["name"])))
