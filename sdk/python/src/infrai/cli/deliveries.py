"""`infrai deliveries`: every delivery of the project, its attempts, retries, cancels and bulk replays."""
from __future__ import annotations

import functools
import time
from typing import Any, Callable, Optional

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ._base import (STATES, Column, Ctx, command, console, emit, err_console, fit_table, flat, kv_table,
                    main, more, output_option, print_table, say, styled, wants_wide)


def delivery_filters(fn: Callable) -> Callable:
    for opt in reversed([
        click.option("--state", type=click.Choice(STATES)),
        click.option("--kind", type=click.Choice(["webhook", "queue", "cron", "callback", "event"])),
        click.option("--queue"), click.option("--topic"), click.option("--subscription-id"),
        click.option("--cron-id"), click.option("--host"),
        click.option("--status-code", help="HTTP status of the last attempt, or 'none'."),
        click.option("--since", help="Created at or after (RFC 3339)."),
        click.option("--until", help="Created before (RFC 3339)."),
    ]):
        fn = opt(fn)
    return fn


def filter_params(params: dict) -> dict:
    return {k: v for k, v in params.items() if v is not None}


DELIVERY_COLUMNS = [Column("id", 0, True), Column("kind", 3), Column("source", 4, True), Column("state", 0),
                    Column("host", 5), Column("status", 2), Column("attempts", 3), Column("created", 6)]


def deliveries_table(items: list, wide: bool = False, width: Optional[int] = None) -> tuple:
    return fit_table(DELIVERY_COLUMNS, [
        [d["delivery_id"], d["kind"], d.get("queue") or d.get("cron_id") or "-", styled(d["state"]),
         d.get("host") or "-", d.get("status_code") or "-", d["attempt_count"], d["created_at"]] for d in items],
        wide=wide, width=width)


def attempts_table(attempts: list, width: Optional[int] = None) -> tuple:
    return fit_table([Column("#", 0), Column("at", 1), Column("status", 0), Column("ms", 2), Column("error", 0),
                      Column("span", 3, is_id=True)],   # the W3C span id the attempt was sent with
                     [[a["attempt"], a["at"], a.get("status_code") or "-", a.get("duration_ms"), a.get("error") or "",
                       a.get("span_id") or ""] for a in attempts], width=width, title="attempts")


@click.group(help="Every delivery of the project: webhook sends, queue messages, cron runs.")
def deliveries() -> None:
    pass


main.add_command(deliveries)


@command(deliveries, "ls", help="List deliveries, newest first.")
@delivery_filters
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--cursor")
@output_option
def deliveries_ls(ctx: Ctx, limit: int, cursor: Optional[str], output: str, **filters: Any) -> None:
    wide = wants_wide(ctx, output)
    page = ctx.client.deliveries.list(limit=limit, cursor=cursor, **filter_params(filters))

    def render(p):
        print_table(deliveries_table(p["items"], wide))
        more(p)
    emit(ctx, page, render)


@command(deliveries, "show", help="One delivery with every attempt.")
@click.argument("delivery_id")
def deliveries_show(ctx: Ctx, delivery_id: str) -> None:
    d = ctx.client.webhook.get(delivery_id)

    def render(r):
        console.print(kv_table(flat(r, "auth", "headers"), r["delivery_id"]))
        print_table(attempts_table(r["attempts"]))
    emit(ctx, d, render)


@command(deliveries, "retry", help="Replay one failed delivery (same webhook-id).")
@click.argument("delivery_id")
def deliveries_retry(ctx: Ctx, delivery_id: str) -> None:
    d = ctx.client.webhook.retry(delivery_id)
    emit(ctx, d, lambda r: console.print(say(r["delivery_id"], " ", styled(r["state"]))))


@command(deliveries, "cancel", help="Cancel a delivery not yet attempted (a delayed send, one held or waiting).")
@click.argument("delivery_id")
def deliveries_cancel(ctx: Ctx, delivery_id: str) -> None:
    d = ctx.client.webhook.cancel(delivery_id)
    emit(ctx, d, lambda r: console.print(say(r["delivery_id"], " ", styled(r["state"]))))


@command(deliveries, "replay", help="Replay every failed delivery matching the filters, with a live progress bar.")
@delivery_filters
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the job until it ends.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between progress reads.")
def deliveries_replay(ctx: Ctx, wait: bool, interval: float, **filters: Any) -> None:
    f = filter_params(filters)
    if f.get("state", "failed") != "failed":
        raise click.BadParameter("only failed deliveries can be replayed", param_hint="--state")
    job = ctx.client.deliveries.replay(**f)
    if wait:
        job = _follow(ctx, job, interval)
    emit(ctx, job, lambda j: console.print(say(
        f"replay {j['replay_id']}: {j['state']}; matched {j['matched']}, queued {j['queued']}, "
        f"skipped {j['skipped']}", *((" (", (str(j["error"].get("message")), "red"), ")") if j.get("error") else ()))))


def _follow(ctx: Ctx, job: dict, interval: float) -> dict:
    get = functools.partial(ctx.client.deliveries.replay_status, job["replay_id"])
    if ctx.as_json:
        while not job["finished"]:
            time.sleep(interval)
            job = get()
        return job
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=False) as bar:
        task = bar.add_task("matching", total=None)
        while True:
            matching = job["state"] == "matching"
            bar.update(task, description=escape(f"{job['state']} ({job['matched']} matched)"),
                       total=None if matching else max(job["matched"], 1) if job["matched"] else 0,
                       completed=job["done"])
            if job["finished"]:
                return job
            time.sleep(interval)
            job = get()
