"""activate, whoami, and `infrai project`: the project, its settings, expunging it."""
from __future__ import annotations

import time
from typing import Optional

import click
from rich.text import Text

from ._base import Ctx, command, console, emit, err_console, kv_table, main, plain, say


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
