"""`infrai keys` (API keys and their scopes) and `infrai audit` (who changed what)."""
from __future__ import annotations

from typing import Optional

import click
from rich.text import Text

from ._base import (Column, Ctx, command, console, emit, err_console, fit_table, kv_table, main, more,
                    output_option, print_table, say, wants_wide)


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
