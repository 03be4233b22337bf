"""`infrai`: the command line for an infrai scheduling project (Click, with Rich for tables and
progress bars). It reads the same configuration as the SDK: --api-key / --base-url, then
INFRAI_API_KEY / INFRAI_BASE_URL, then ~/.infrai/credentials, then the local stack.
Every command takes --json and then prints the API's JSON (one object per line for `tail`).

Every value from the API is printed as plain text (a Rich `Text`, never markup): a receiver's
status line or an error holding `[/]` or `[link=…]` shows literally instead of crashing or
spoofing output. Tables never cut an id: id columns keep their full width, and on a narrow
terminal the least important columns are left out instead (`-o wide` shows them all)."""
from __future__ import annotations

import functools
import json
import sys
import time
from typing import Any, Callable, NamedTuple, Optional

import click
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ._client import Infrai
from .errors import InfraiError

STATES = ["queued", "held", "waiting", "retrying", "succeeded", "failed", "cancelled"]
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
                    err_console.print(Text.assemble(("error:", "red"), " ", str(e)))
                sys.exit(1)
        return run
    return decorate


def emit(ctx: Ctx, data: Any, render: Callable[[Any], None]) -> None:
    if ctx.as_json:
        click.echo(json.dumps(data))
    else:
        render(data)


def plain(value: Any) -> Text:
    """A value from the API as literal text: never read as markup or an emoji code."""
    return Text("-" if value is None else str(value))


def styled(state: Optional[str]) -> Text:
    return Text(str(state), style=STATE_STYLE.get(str(state), "white")) if state else Text("-")


def say(*parts: Any) -> Text:
    """One line: str parts are plain text (API values welcome), (text, style) pairs are styled."""
    return Text.assemble(*(p if isinstance(p, (Text, tuple)) else str(p) for p in parts))


def flat(record: dict, *fields: str) -> dict:
    """`record` with each of `fields` (an object) spread into `field.key` rows: headers (their
    credential values masked by the API) and an endpoint's auth (never a secret)."""
    out = dict(record)
    for name in fields:
        out.update({f"{name}.{k}": v for k, v in (record.get(name) or {}).items()})
    return out


def kv_table(record: dict, title: Any) -> Table:
    table = Table(title=plain(title), show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for k, v in record.items():
        if not isinstance(v, (list, dict)):
            table.add_row(Text(str(k), style="bold"), styled(v) if k == "state" else plain(v))
    return table


class Column(NamedTuple):
    name: str
    keep: int = 5        # on a narrow terminal the highest are left out first; 0: always shown
    is_id: bool = False  # never cut: kept at its full width


def fit_table(columns: list, rows: list, *, wide: bool = False, width: Optional[int] = None,
              title: Any = None) -> tuple:
    """A table of API values (each cell plain text unless already a Text) that fits `width`
    without cutting an id: columns are left out, least important first, until the rest fit at
    their full width; `wide` keeps them all. Returns (table, the width it needs, columns left out)."""
    cells = [[c if isinstance(c, Text) else plain(c) for c in row] for row in rows]
    need = [max([len(col.name)] + [max(map(cell_len, r[i].plain.split("\n"))) for r in cells])
            for i, col in enumerate(columns)]
    width = width or console.width
    chosen = list(range(len(columns)))
    if not wide:
        chosen, total = [], 1                    # 1: the table's left border
        for i in sorted(range(len(columns)), key=lambda i: columns[i].keep):
            if columns[i].keep == 0 or total + need[i] + 3 <= width:   # 3: padding and border
                chosen.append(i)
                total += need[i] + 3
        chosen.sort()
    table = Table(title=plain(title) if title is not None else None)
    for i in chosen:
        if columns[i].is_id:
            table.add_column(columns[i].name, no_wrap=True, min_width=need[i], overflow="fold")
        else:
            table.add_column(columns[i].name, overflow="fold")
    for row in cells:
        table.add_row(*(row[i] for i in chosen))
    return table, 1 + sum(need[i] + 3 for i in chosen), len(columns) - len(chosen)


def print_table(fitted: tuple) -> None:
    table, needed, hidden = fitted
    if needed > console.width:   # -o wide: lines longer than the terminal (Rich would shrink it to fit)
        Console(file=console.file, width=needed, force_terminal=console.is_terminal,
                color_system=console.color_system).print(table)
    else:
        console.print(table)
    if hidden:
        err_console.print(Text(f"({hidden} column{'s' if hidden > 1 else ''} left out to fit the terminal; "
                               "-o wide shows every column)", style="dim"))


def output_option(fn: Callable) -> Callable:
    return click.option("-o", "--output", type=click.Choice(["table", "wide", "json"]), default="table",
                        show_default=True, help="wide: every column, however narrow the terminal; json: as --json.")(fn)


def wants_wide(ctx: Ctx, output: str) -> bool:
    if output == "json":
        ctx.as_json = True
    return output == "wide"


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
    emit(ctx, shown, lambda r: console.print(say("activated project ", (str(r.get("project_id")), "bold"),
                                                 f" ({'new' if r.get('created', True) else 'already saved'})")))


def retention_words(settings: dict) -> str:
    days = settings.get("retention_days") or {}
    return (f"{days.get('succeeded')} days after success, {days.get('failed')} days after failure or "
            "cancellation")


def show_project(ctx: Ctx, me: dict) -> None:
    table = kv_table(me, f"project at {ctx.client.base_url}")
    table.add_row(Text("deliveries kept", style="bold"), plain(retention_words(me)))
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


@command(project, "set", help="Change the project's settings: how long deliveries are kept once they end, "
                                "and which signatures they carry.")
@click.option("--retention-succeeded", type=click.IntRange(1, 400), metavar="DAYS",
              help="Days a delivery is kept after it succeeded (default 30).")
@click.option("--retention-failed", type=click.IntRange(1, 400), metavar="DAYS",
              help="Days a delivery is kept after it failed or was cancelled (default 90).")
@click.option("--signatures", type=click.Choice(["v1", "v1,v1a", "v1a"]),
              help="Standard Webhooks signatures deliveries carry: v1 (HMAC, the whsec_ secret; the default), "
                   "v1a (Ed25519, verified with a whpk_ public key), or both while receivers migrate.")
def project_set(ctx: Ctx, retention_succeeded: Optional[int], retention_failed: Optional[int],
                signatures: Optional[str]) -> None:
    days = {k: v for k, v in (("succeeded", retention_succeeded), ("failed", retention_failed)) if v is not None}
    if not days and not signatures:
        raise click.UsageError("give --retention-succeeded, --retention-failed and/or --signatures")
    settings = ctx.client.auth.update_project(retention_days=days or None,
                                              signatures=signatures.split(",") if signatures else None)
    emit(ctx, settings, lambda r: console.print(say(f"deliveries kept {retention_words(r)}, signed "
                                                    f"{' and '.join(r.get('signatures') or ['v1'])} "
                                                    "(for deliveries made from now on)")))


@command(project, "expunge", help="Delete everything of the project, its keys included. Cannot be undone.")
@click.option("--confirm", required=True, metavar="PROJECT_ID", help="The project's id (infrai whoami).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the job until it ends.")
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between reads.")
def project_expunge(ctx: Ctx, confirm: str, wait: bool, interval: float) -> None:
    job = ctx.client.auth.expunge_project(confirm)
    while wait and job["state"] != "completed":
        if not ctx.as_json:
            err_console.print(Text(f"{job['state']}: {job.get('phase') or ''}, "
                                   f"{sum(job['deleted'].values())} items deleted", style="dim"))
        time.sleep(interval)
        job = ctx.client.auth.expunge_status()

    def render(j):
        done = ", ".join(f"{k} {v}" for k, v in j["deleted"].items() if v)
        console.print(say(f"expunge of {j['project_id']}: {j['state']}; deleted: {done or 'nothing yet'}"))
        if j["state"] == "completed":
            console.print("[dim]the project's keys now read only this report (infrai project expunge-status), "
                          "for 30 days[/dim]")
    emit(ctx, job, render)


@command(project, "expunge-status", help="The project's expunge: its state and what it deleted.")
def project_expunge_status(ctx: Ctx) -> None:
    emit(ctx, ctx.client.auth.expunge_status(),
         lambda j: console.print(say(f"expunge of {j['project_id']}: {j['state']} "
                                     f"{j.get('phase') or ''}; deleted: {j['deleted']}")))


# ------------------------------------------------------------------ deliveries
@click.group(help="The project's API keys and what each may do (scopes: read, publish, manage, admin).")
def keys() -> None:
    pass


main.add_command(keys)

KEY_COLUMNS = [Column("id", 0, True), Column("scopes", 0), Column("queues", 1), Column("name", 2), Column("key", 4),
               Column("created", 5), Column("revoked", 3)]


def keys_table(items: list, wide: bool = False, width: Optional[int] = None) -> tuple:
    return fit_table(KEY_COLUMNS, [
        [k["key_id"], ",".join(k.get("scopes") or ["admin"]), ",".join(k.get("queues") or []) or "any",
         k.get("name") or "-", k.get("key"), k.get("created_at"),
         Text(str(k["revoked_at"]), style="dim") if k.get("revoked_at") else "-"] for k in items],
        wide=wide, width=width)


@command(keys, "ls", help="List the project's keys (shortened) with their scopes and queues.")
@output_option
def keys_ls(ctx: Ctx, output: str) -> None:
    wide = wants_wide(ctx, output)
    emit(ctx, ctx.client.auth.list_keys(), lambda r: print_table(keys_table(r["keys"], wide)))


@command(keys, "create", help="A new key, shown once. Scopes do not imply one another, except admin (all); "
                              "without --scope the key is admin.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "publish", "manage", "admin"]),
              help="Repeat for several, e.g. --scope read --scope publish.")
@click.option("--queue", "queues", multiple=True, metavar="NAME",
              help="The only queues the key may publish to (repeat; needs --scope publish).")
@click.option("--name", help="A label, e.g. ci-publisher.")
def keys_create(ctx: Ctx, scopes: tuple, queues: tuple, name: Optional[str]) -> None:
    made = ctx.client.auth.create_key(scopes=list(scopes) or None, queues=list(queues) or None, name=name)

    def render(k):
        console.print(kv_table({"key_id": k["key_id"], "api_key": k["api_key"], "scopes": ",".join(k["scopes"]),
                                "queues": ",".join(k.get("queues") or []) or "any", "name": k.get("name") or "-"},
                               "new key"))
        err_console.print(Text("The key is shown only now: keep it somewhere safe.", style="yellow"))
    emit(ctx, made, render)


@command(keys, "revoke", help="Revoke a key (the last active key cannot be revoked).")
@click.argument("key_id")
def keys_revoke(ctx: Ctx, key_id: str) -> None:
    emit(ctx, ctx.client.auth.revoke_key(key_id), lambda r: console.print(say("revoked ", r["key_id"])))


AUDIT_COLUMNS = [Column("at", 0), Column("key", 0, True), Column("method", 0), Column("route", 0),
                 Column("resource", 1, True), Column("status", 0), Column("from", 2)]


def audit_table(entries: list, wide: bool = False, width: Optional[int] = None) -> tuple:
    return fit_table(AUDIT_COLUMNS, [
        [e["at"], e.get("key_id") or "-", e["method"], e["route"], e.get("resource_id") or "-",
         Text(str(e["status"]), style="red" if e["status"] >= 400 else "green"), e.get("source_ip") or "-"]
        for e in entries], wide=wide, width=width)


@command(main, "audit", help="The audit log: who changed the project's configuration, newest first "
                             "(never a payload, header value or secret).")
@click.option("--since", help="At or after this time (RFC 3339).")
@click.option("--until", help="Before this time (RFC 3339).")
@click.option("--key-id", help="Only changes made with this key.")
@click.option("--resource", help="Only changes of this resource (a cron job's id, a queue's name, ...).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--cursor")
@output_option
def audit(ctx: Ctx, since: Optional[str], until: Optional[str], key_id: Optional[str], resource: Optional[str],
          limit: int, cursor: Optional[str], output: str) -> None:
    wide = wants_wide(ctx, output)
    page = ctx.client.auth.audit(since=since, until=until, key_id=key_id, resource=resource, limit=limit,
                                 cursor=cursor)

    def render(p):
        print_table(audit_table(p["entries"], wide))
        more(p)
    emit(ctx, page, render)


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


def _filters(params: dict) -> dict:
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


def more(page: dict) -> None:
    if page.get("next_cursor"):
        console.print(say(("more: --cursor ", "dim"), (str(page["next_cursor"]), "dim")))


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
    page = ctx.client.deliveries.list(limit=limit, cursor=cursor, **_filters(filters))

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
    f = _filters(filters)
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


# ------------------------------------------------------------------ cron
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


# ------------------------------------------------------------------ queues
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


# ------------------------------------------------------------------ topics (docs/topics.md)
@click.group(help="Topics: publish once, deliver to every matching subscription.")
def topics() -> None:
    pass


main.add_command(topics)


@command(topics, "ls", help="List topics with their subscription counts.")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
@output_option
def topics_ls(ctx: Ctx, limit: int, cursor: Optional[str], output: str) -> None:
    wide = wants_wide(ctx, output)

    def render(p):
        print_table(fit_table([Column("name", 0, True), Column("subscriptions", 0), Column("description", 2)],
                              [[t["name"], t["subscriptions"], t.get("description") or ""] for t in p["items"]], wide=wide))
        more(p)
    emit(ctx, ctx.client.topics.list(limit=limit, cursor=cursor), render)


@command(topics, "put", help="Create a topic (or change its description).")
@click.argument("name")
@click.option("--description")
def topics_put(ctx: Ctx, name: str, description: Optional[str]) -> None:
    t = ctx.client.topics.put(name, **({"description": description} if description is not None else {}))
    emit(ctx, t, lambda r: console.print(kv_table(r, r["name"])))


@command(topics, "publish", help="Publish an event: one delivery per matching subscription.")
@click.argument("name")
@click.argument("event_type")
@click.option("--payload", default="{}", show_default=True, help="A JSON object.")
@click.option("--delay-seconds", type=int)
@click.option("--idempotency-key")
def topics_publish(ctx: Ctx, name: str, event_type: str, payload: str, delay_seconds: Optional[int],
                   idempotency_key: Optional[str]) -> None:
    try:
        body = json.loads(payload)
    except ValueError as e:
        raise click.BadParameter(f"not JSON: {e}", param_hint="--payload")
    r = ctx.client.topics.publish(name, event_type, body, delay_seconds=delay_seconds, idempotency_key=idempotency_key)

    def render(res):
        console.print(say("published ", res["message_id"], f": {res['matched']} subscription(s) matched"))
        print_table(fit_table([Column("delivery", 0, True), Column("subscription", 0, True), Column("state", 0)],
                              [[d["delivery_id"], d["subscription_id"], styled(d["state"])] for d in res["deliveries"]]))
    emit(ctx, r, render)


@command(topics, "subscribe", help="Subscribe an HTTP endpoint to a topic.")
@click.argument("name")
@click.argument("url")
@click.option("--event-type", "event_types", multiple=True, help="Repeat for several; none: every type.")
@click.option("--filter", "filter_", help='An EventBridge event pattern (JSON), e.g. \'{"amount": [{"numeric": [">", 100]}]}\'.')
@click.option("--retries", type=click.IntRange(0, 20))
@click.option("--description")
def topics_subscribe(ctx: Ctx, name: str, url: str, event_types: tuple, filter_: Optional[str], retries: Optional[int],
                     description: Optional[str]) -> None:
    try:
        pattern = json.loads(filter_) if filter_ is not None else None
    except ValueError as e:
        raise click.BadParameter(f"not JSON: {e}", param_hint="--filter")
    s = ctx.client.topics.subscribe(name, url, event_types=list(event_types) or None, filter=pattern,
                                    retries=retries, description=description)
    emit(ctx, s, lambda r: console.print(kv_table(
        {**flat(r, "auth", "headers"), "event_types": ",".join(r["event_types"]) if r.get("event_types") else "all",
         "filter": json.dumps(r["filter"]) if r.get("filter") else "-"}, r["subscription_id"])))


@command(topics, "subs", help="A topic's subscriptions.")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 100), default=20)
@click.option("--cursor")
@output_option
def topics_subs(ctx: Ctx, name: str, limit: int, cursor: Optional[str], output: str) -> None:
    wide = wants_wide(ctx, output)

    def render(p):
        print_table(fit_table(
            [Column("id", 0, True), Column("url", 3), Column("event types", 1), Column("filter", 4), Column("paused", 2)],
            [[s["subscription_id"], s["url"], ",".join(s["event_types"]) if s.get("event_types") else "all",
              json.dumps(s["filter"]) if s.get("filter") else "-", "yes" if s.get("paused") else ""] for s in p["items"]],
            wide=wide))
        more(p)
    emit(ctx, ctx.client.topics.subscriptions(name, limit=limit, cursor=cursor), render)


@command(topics, "unsubscribe", help="Delete a subscription (its deliveries not yet made are cancelled).")
@click.argument("subscription_id")
def topics_unsubscribe(ctx: Ctx, subscription_id: str) -> None:
    r = ctx.client.topics.delete_subscription(subscription_id)
    emit(ctx, r, lambda res: console.print(say("deleted ", res["deleted"],
                                               f" ({res['cancelled_deliveries']} deliveries cancelled)")))


# ------------------------------------------------------------------ tail
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
                console.print(tail_line(d, time.strftime('%H:%M:%S')), soft_wrap=True)
            if count is not None and events >= count:
                return
        if first:
            err_console.print("[dim]following new deliveries and attempts (Ctrl-C to stop)[/dim]")
        first = False
        time.sleep(interval)


if __name__ == "__main__":   # pragma: no cover
    main()
