"""`infrai`: the command line for an infrai scheduling project (Click, with Rich for tables and
progress bars). It reads the same configuration as the SDK: --api-key / --base-url, then
INFRAI_API_KEY / INFRAI_BASE_URL, then ~/.infrai/credentials, then the local stack.
Every command takes --json and then prints the API's JSON (one object per line for `tail`).

Every value from the API is printed as plain text (a Rich `Text`, never markup): a receiver's
status line or an error holding `[/]` or `[link=…]` shows literally instead of crashing or
spoofing output. Tables never cut an id: id columns keep their full width, and on a narrow
terminal the least important columns are left out instead (`-o wide` shows them all).

One module per command group (project, keys, deliveries, cron, queues, topics, tail); what they
share (the root group, the context, printing) is in _base. Importing a group's module adds it
to `main`."""
from . import cron, deliveries, keys, project, queues, tail, topics   # noqa: F401 - each adds its commands to main
from ._base import kv_table, main
from .cron import cron_table
from .deliveries import attempts_table, deliveries_table
from .tail import tail_line

__all__ = ["main", "kv_table", "attempts_table", "deliveries_table", "cron_table", "tail_line"]
