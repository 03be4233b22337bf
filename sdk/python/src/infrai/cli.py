"""`infrai`: the command line for an infrai scheduling project (Click, with Rich for tables and
progress bars). It reads the same configuration as the SDK: --api-key / --base-url, then
INFRAI_API_KEY / INFRAI_BASE_URL, then ~/.infrai/credentials, then the local stack.
Every command takes --json and then prints the API's JSON (one object per line for `tail`)."""
from __future__ import annotations

import functools
import json
import sys
import time
from typing import Any, Callable, Optional

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ._client import Infrai
from .errors import InfraiError

STATES = ["queued", "held", "retrying", "succeeded", "failed", "cancelled"]
STATE_STYLE = {"succeeded": "green", "failed": "red", "retrying": "yellow", "held": "magenta",
               "cancelled": "dim", "queued": "cyan"}
console = Console()
err_console = Console(stderr=True)


class Ctx:
    def __init__(self, api_key: Optional[str], base_url: Optional[str], as_json: bool):
        self.api_key, self.base_url, self.as_json = api_key, base_url, as_json
        self._client: Optional[Infrai] = None

    @property
    def client(self) -> Infrai:
        if self._client is None:
            self._client = Infrai(api_key=self.api_key, base_url=self.base_url)
        return self._client


def command(group: click.Group, name: Optional[str] = None, **kwargs: Any):
    """A subcommand with --json, API errors shown as one readable line (exit status 1)."""
    def decorate(fn: Callable):
        @group.command(name=name, **kwargs)
        @click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
        @click.pass_obj
        @functools.wraps(fn)
        def run(ctx: Ctx, as_json: bool, **params: Any):
            ctx.as_json = ctx.as_json or as_json
            try:
                fn(ctx, **params)
            except InfraiError as e:
                if ctx.as_json:
                    click.echo(json.dumps({"error": {"code": getattr(e, "code", None), "message": str(e)}}))
                else:
                    err_console.print(f"[red]error:[/red] {e}")
                sys.exit(1)
        return run
    return decorate


def emit(ctx: Ctx, data: Any, render: Callable[[Any], None]) -> None:
    if ctx.as_json:
        click.echo(json.dumps(data))
    else:
        render(data)


def styled(state: Optional[str]) -> str:
    return f"[{STATE_STYLE.get(state or '', 'white')}]{state}[/]" if state else "-"


def kv_table(record: dict, title: str) -> Table:
    table = Table(title=title, show_header=False, box=None)
    for k, v in record.items():
        if not isinstance(v, (list, dict)):
            table.add_row(f"[bold]{k}[/bold]", styled(v) if k == "state" else str(v))
    return table


@click.group()
@click.option("--api-key", envvar="INFRAI_API_KEY", default=None, help="Default: INFRAI_API_KEY or ~/.infrai/credentials.")
@click.option("--base-url", envvar="INFRAI_BASE_URL", default=None, help="Default: INFRAI_BASE_URL, the credentials file, or the local stack.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
@click.version_option(package_name="infrai")
@click.pass_context
def main(ctx: click.Context, api_key: Optional[str], base_url: Optional[str], as_json: bool) -> None:
    """Operate an infrai scheduling project: deliveries, replays, cron jobs, queues."""
    ctx.obj = Ctx(api_key, base_url, as_json)


# ------------------------------------------------------------------ account
@command(main, help="Create a trial project and save its key in ~/.infrai/credentials.")
@click.option("--force", is_flag=True, help="A new project even if a key is saved.")
def activate(ctx: Ctx, force: bool) -> None:
    result = ctx.client.activate(force=force)
    shown = {k: v for k, v in result.items() if k != "api_key"}
    emit(ctx, shown, lambda r: console.print(f"activated project [bold]{r.get('project_id')}[/bold]"
                                             f" ({'new' if r.get('created', True) else 'already saved'})"))


def retention_words(settings: dict) -> str:
    days = settings.get("retention_days") or {}
    return (f"{days.get('succeeded')} days after success, {days.get('failed')} days after failure or "
            "cancellation")


def show_project(ctx: Ctx, me: dict) -> None:
    table = kv_table(me, f"project at {ctx.client.base_url}")
    table.add_row("[bold]deliveries kept[/bold]", retention_words(me))
    console.print(table)


@command(main, help="The project this key belongs to, its plan, limits and settings.")
def whoami(ctx: Ctx) -> None:
    emit(ctx, ctx.client.auth.me(), lambda r: show_project(ctx, r))


# ------------------------------------------------------------------ project
@click.group(help="The project: its settings, and expunging it.")
def project() -> None:
    pass


main.add_command(project)


@command(project, "show", help="The project: plan, limits, usage and settings (as whoami).")
def project_show(ctx: Ctx) -> None:
    emit(ctx, ctx.client.auth.me(), lambda r: show_project(ctx, r))


@command(project, "set", help="Change the project's settings: how long deliveries are kept once they end.")
@click.option("--retention-succeeded", type=click.IntRange(1, 400), metavar="DAYS",
              help="Days a delivery is kept after it succeeded (default 30).")
@click.option("--retention-failed", type=click.IntRange(1, 400), metavar="DAYS",
              help="Days a delivery is kept after it failed or was cancelled (default 90).")
def project_set(ctx: Ctx, retention_succeeded: Optional[int], retention_failed: Optional[int]) -> None:
    days = {k: v for k, v in (("succeeded", retention_succeeded), ("failed", retention_failed)) if v is not None}
    if not days:
        raise click.UsageError("give --retention-succeeded and/or --retention-failed")
    settings = ctx.client.auth.update_project(retention_days=days)
    emit(ctx, settings, lambda r: console.print(f"deliveries kept {retention_words(r)} "
                                                "(for deliveries made from now on)"))


@command(project, "expunge", help="Delete everything of the project, its keys included. Cannot be undone.")
@click.option("--confirm", required=True, metavar="PROJECT_ID", help="The project's id (infrai whoami).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the job until it ends.")
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between reads.")
def project_expunge(ctx: Ctx, confirm: str, wait: bool, interval: float) -> None:
    job = ctx.client.auth.expunge_project(confirm)
    while wait and job["state"] != "completed":
        if not ctx.as_json:
            err_console.print(f"[dim]{job['state']}: {job.get('phase') or ''}, "
                              f"{sum(job['deleted'].values())} items deleted[/dim]")
        time.sleep(interval)
        job = ctx.client.auth.expunge_status()

    def render(j):
        done = ", ".join(f"{k} {v}" for k, v in j["deleted"].items() if v)
        console.print(f"expunge of {j['project_id']}: {j['state']}; deleted: {done or 'nothing yet'}")
        if j["state"] == "completed":
            console.print("[dim]the project's keys now read only this report (infrai project expunge-status), "
                          "for 30 days[/dim]")
    emit(ctx, job, render)


@command(project, "expunge-status", help="The project's expunge: its state and what it deleted.")
def project_expunge_status(ctx: Ctx) -> None:
    emit(ctx, ctx.client.auth.expunge_status(),
         lambda j: console.print(f"expunge of {j['project_id']}: {j['state']} "
                                 f"{j.get('phase') or ''}; deleted: {j['deleted']}"))


# ------------------------------------------------------------------ deliveries
def delivery_filters(fn: Callable) -> Callable:
    for opt in reversed([
        click.option("--state", type=click.Choice(STATES)),
        click.option("--kind", type=click.Choice(["webhook", "queue", "cron", "callback", "event"])),
        click.option("--queue"), click.option("--cron-id"), click.option("--host"),
        click.option("--status-code", help="HTTP status of the last attempt, or 'none'."),
        click.option("--since", help="Created at or after (RFC 3339)."),
        click.option("--until", help="Created before (RFC 3339)."),
    ]):
        fn = opt(fn)
    return fn


def _filters(params: dict) -> dict:
    return {k: v for k, v in params.items() if v is not None}


def deliveries_table(items: list) -> Table:
    table = Table()
    for col in ("id", "kind", "source", "state", "host", "status", "attempts", "created"):
        table.add_column(col)
    for d in items:
        table.add_row(d["delivery_id"], d["kind"], d.get("queue") or d.get("cron_id") or "-", styled(d["state"]),
                      d.get("host") or "-", str(d.get("status_code") or "-"), str(d["attempt_count"]), d["created_at"])
    return table


@click.group(help="Every delivery of the project: webhook sends, queue messages, cron runs.")
def deliveries() -> None:
    pass


main.add_command(deliveries)


@command(deliveries, "ls", help="List deliveries, newest first.")
@delivery_filters
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--cursor")
def deliveries_ls(ctx: Ctx, limit: int, cursor: Optional[str], **filters: Any) -> None:
    page = ctx.client.deliveries.list(limit=limit, cursor=cursor, **_filters(filters))

    def render(p):
        console.print(deliveries_table(p["items"]))
        if p.get("next_cursor"):
            console.print(f"[dim]more: --cursor {p['next_cursor']}[/dim]")
    emit(ctx, page, render)


@command(deliveries, "show", help="One delivery with every attempt.")
@click.argument("delivery_id")
def deliveries_show(ctx: Ctx, delivery_id: str) -> None:
    d = ctx.client.webhook.get(delivery_id)

    def render(r):
        console.print(kv_table(r, r["delivery_id"]))
        table = Table(title="attempts")
        for col in ("#", "at", "status", "ms", "error"):
            table.add_column(col)
        for a in r["attempts"]:
            table.add_row(str(a["attempt"]), a["at"], str(a["status_code"] or "-"), str(a["duration_ms"]),
                          a.get("error") or "")
        console.print(table)
    emit(ctx, d, render)


@command(deliveries, "retry", help="Replay one failed delivery (same webhook-id).")
@click.argument("delivery_id")
def deliveries_retry(ctx: Ctx, delivery_id: str) -> None:
    d = ctx.client.webhook.retry(delivery_id)
    emit(ctx, d, lambda r: console.print(f"{r['delivery_id']} {styled(r['state'])}"))


@command(deliveries, "replay", help="Replay every failed delivery matching the filters, with a live progress bar.")
@delivery_filters
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the job until it ends.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between progress reads.")
def deliveries_replay(ctx: Ctx, wait: bool, interval: float, **filters: Any) -> None:
    f = _filters(filters)
    if f.get("state", "failed") != "failed":
        raise click.BadParameter("only failed deliveries can be replayed", param_hint="--state")
    job = ctx.client.deliveries.replay(**f)
    if wait:
        job = _follow(ctx, job, interval)
    emit(ctx, job, lambda j: console.print(
        f"replay {j['replay_id']}: {j['state']}; matched {j['matched']}, queued {j['queued']}, "
        f"skipped {j['skipped']}" + (f" ([red]{j['error']['message']}[/red])" if j.get("error") else "")))


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
            bar.update(task, description=f"{job['state']} ({job['matched']} matched)",
                       total=None if matching else max(job["matched"], 1) if job["matched"] else 0,
                       completed=job["done"])
            if job["finished"]:
                return job
            time.sleep(interval)
            job = get()


# ------------------------------------------------------------------ cron
@click.group(help="Cron jobs.")
def cron() -> None:
    pass


main.add_command(cron)


@command(cron, "ls", help="List cron jobs.")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
def cron_ls(ctx: Ctx, limit: int, cursor: Optional[str]) -> None:
    page = ctx.client.cron.list(limit=limit, cursor=cursor)

    def render(p):
        table = Table()
        for col in ("id", "name", "schedule", "timezone", "target", "enabled", "next run"):
            table.add_column(col)
        for j in p["items"]:
            table.add_row(j["cron_id"], j["name"], j["schedule"], j["timezone"], j.get("url") or f"queue:{j.get('queue')}",
                          "yes" if j["enabled"] else "[yellow]paused[/]", str(j.get("next_run_at") or "-"))
        console.print(table)
    emit(ctx, page, render)


@command(cron, "show", help="One cron job.")
@click.argument("cron_id")
def cron_show(ctx: Ctx, cron_id: str) -> None:
    emit(ctx, ctx.client.cron.get(cron_id), lambda r: console.print(kv_table(r, r["cron_id"])))


@command(cron, "pause", help="Stop a job's schedule (it is kept).")
@click.argument("cron_id")
def cron_pause(ctx: Ctx, cron_id: str) -> None:
    emit(ctx, ctx.client.cron.pause(cron_id), lambda r: console.print(f"{r['cron_id']} paused"))


@command(cron, "resume", help="Start a paused job's schedule again.")
@click.argument("cron_id")
def cron_resume(ctx: Ctx, cron_id: str) -> None:
    emit(ctx, ctx.client.cron.resume(cron_id), lambda r: console.print(f"{r['cron_id']} resumed"))


@command(cron, "trigger", help="Run a job once now.")
@click.argument("cron_id")
def cron_trigger(ctx: Ctx, cron_id: str) -> None:
    emit(ctx, ctx.client.cron.trigger(cron_id), lambda r: console.print(f"run {r['delivery_id']} {styled(r['delivery_state'])}"))


@command(cron, "runs", help="A job's runs, newest first.")
@click.argument("cron_id")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
def cron_runs(ctx: Ctx, cron_id: str, limit: int, cursor: Optional[str]) -> None:
    page = ctx.client.cron.runs(cron_id, limit=limit, cursor=cursor)

    def render(p):
        table = Table()
        for col in ("delivery", "scheduled", "fired", "state", "attempts", "manual"):
            table.add_column(col)
        for r in p["items"]:
            table.add_row(r["delivery_id"], r["scheduled_at"], r["fired_at"], styled(r["delivery_state"]),
                          str(r["attempt_count"]), "yes" if r["manual"] else "")
        console.print(table)
    emit(ctx, page, render)


# ------------------------------------------------------------------ queues
@click.group(help="Named queues.")
def queues() -> None:
    pass


main.add_command(queues)


@command(queues, "ls", help="List queues with their message counts.")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
def queues_ls(ctx: Ctx, limit: int, cursor: Optional[str]) -> None:
    page = ctx.client.queue.list(limit=limit, cursor=cursor)

    def render(p):
        table = Table()
        for col in ("name", "url", "paused", "held", "queued", "retrying", "failed"):
            table.add_column(col)
        for q in p["items"]:
            c = q.get("counts", {})
            table.add_row(q["name"], q.get("url") or "[magenta](none: holding)[/]", "yes" if q.get("paused") else "",
                          *(str(c.get(s, 0)) for s in ("held", "queued", "retrying", "failed")))
        console.print(table)
    emit(ctx, page, render)


@command(queues, "show", help="One queue.")
@click.argument("name")
def queues_show(ctx: Ctx, name: str) -> None:
    q = ctx.client.queue.get(name)
    emit(ctx, q, lambda r: console.print(kv_table({**r, **{f"count.{k}": v for k, v in r.get("counts", {}).items()}},
                                                  r["name"])))


# ------------------------------------------------------------------ tail
@command(main, "tail", help="Follow new deliveries and their attempts as they happen (Ctrl-C to stop).")
@delivery_filters
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between reads.")
@click.option("--count", type=int, default=None, help="Stop after this many events (for scripts).")
@click.option("--since-now/--from-recent", default=True, show_default=True,
              help="Only what happens from now on, or start with the 20 most recent.")
def tail(ctx: Ctx, interval: float, count: Optional[int], since_now: bool, **filters: Any) -> None:
    """Polls the newest page of the list and prints what changed: a delivery seen for the first
    time, or one with a new attempt or state."""
    f = _filters(filters)
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
                last = d.get("last_attempt") or {}
                console.print(f"{time.strftime('%H:%M:%S')} {d['delivery_id']} {d['kind']}"
                              f"{':' + (d.get('queue') or d.get('cron_id')) if d.get('queue') or d.get('cron_id') else ''} "
                              f"{styled(d['state'])} attempt {d['attempt_count']} "
                              f"{d.get('host') or ''} {last.get('status_code') or last.get('error') or ''}")
            if count is not None and events >= count:
                return
        if first:
            err_console.print("[dim]following new deliveries and attempts (Ctrl-C to stop)[/dim]")
        first = False
        time.sleep(interval)


if __name__ == "__main__":   # pragma: no cover
    main()
