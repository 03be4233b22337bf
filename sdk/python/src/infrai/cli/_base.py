"""The CLI's shared parts: the root group `main` and its options, the context every command gets,
and how API values are printed (plain text, tables that never cut an id)."""
from __future__ import annotations
from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable, NamedTuple, Optional

import click
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._client import Infrai
from ..errors import InfraiError


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


def more(page: dict) -> None:
    if page.get("next_cursor"):
        console.print(say(("more: --cursor ", "dim"), (str(page["next_cursor"]), "dim")))
