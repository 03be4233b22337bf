"""`infrai cron`: cron jobs, their runs, pause, resume and trigger."""
from __future__ import annotations

from typing import Optional

import click
from rich.text import Text

from ._base import (Column, Ctx, command, console, emit, fit_table, flat, kv_table, main, more,
                    output_option, print_table, say, styled, wants_wide)


@click.group(help="Cron jobs.")
def cron() -> None:
    pass


main.add_command(cron)


@command(cron, "ls", help="List cron jobs.")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
@output_option
def cron_ls(ctx: Ctx, limit: int, cursor: Optional[str], output: str) -> None:
    wide = wants_wide(ctx, output)
    page = ctx.client.cron.list(limit=limit, cursor=cursor)

    def render(p):
        print_table(cron_table(p["items"], wide))
        more(p)
    emit(ctx, page, render)


CRON_COLUMNS = [Column("id", 0, True), Column("name", 1), Column("schedule", 2), Column("timezone", 5),
                Column("target", 4), Column("enabled", 3), Column("next run", 6)]


def cron_table(items: list, wide: bool = False, width: Optional[int] = None) -> tuple:
    return fit_table(CRON_COLUMNS, [
        [j["cron_id"], j.get("name"), j.get("schedule"), j.get("timezone"), j.get("url") or f"queue:{j.get('queue')}",
         "yes" if j.get("enabled") else Text("paused", style="yellow"), j.get("next_run_at") or "-"] for j in items],
        wide=wide, width=width)


@command(cron, "show", help="One cron job.")
@click.argument("cron_id")
def cron_show(ctx: Ctx, cron_id: str) -> None:
    emit(ctx, ctx.client.cron.get(cron_id), lambda r: console.print(kv_table(flat(r, "auth"), r["cron_id"])))


@command(cron, "pause", help="Stop a job's schedule (it is kept).")
@click.argument("cron_id")
def cron_pause(ctx: Ctx, cron_id: str) -> None:
    emit(ctx, ctx.client.cron.pause(cron_id), lambda r: console.print(say(r["cron_id"], " paused")))


@command(cron, "resume", help="Start a paused job's schedule again.")
@click.argument("cron_id")
def cron_resume(ctx: Ctx, cron_id: str) -> None:
    emit(ctx, ctx.client.cron.resume(cron_id), lambda r: console.print(say(r["cron_id"], " resumed")))


@command(cron, "trigger", help="Run a job once now.")
@click.argument("cron_id")
def cron_trigger(ctx: Ctx, cron_id: str) -> None:
    emit(ctx, ctx.client.cron.trigger(cron_id), lambda r: console.print(say("run ", r["delivery_id"], " ", styled(r["delivery_state"]))))


@command(cron, "runs", help="A job's runs, newest first.")
@click.argument("cron_id")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
@output_option
def cron_runs(ctx: Ctx, cron_id: str, limit: int, cursor: Optional[str], output: str) -> None:
    wide = wants_wide(ctx, output)
    page = ctx.client.cron.runs(cron_id, limit=limit, cursor=cursor)

    def render(p):
        print_table(fit_table(
            [Column("delivery", 0, True), Column("scheduled", 1), Column("fired", 3), Column("state", 0),
             Column("attempts", 2), Column("manual", 4)],
            [[r["delivery_id"], r.get("scheduled_at"), r.get("fired_at"), styled(r.get("delivery_state")),
              r.get("attempt_count"), "yes" if r.get("manual") else ""] for r in p["items"]], wide=wide))
        more(p)
    emit(ctx, page, render)
