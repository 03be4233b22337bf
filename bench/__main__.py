"""`make bench`: every benchmark, figures printed. BENCH=webhooks,cron,queues picks some."""
import importlib
import os

from . import common  # noqa: F401 - puts the project on sys.path

SUITES = ["architecture", "timers", "webhooks", "queues", "cron", "load", "deliveries", "flow", "console", "fairness", "sizing", "scale", "fanout"]

for name in os.environ.get("BENCH", ",".join(SUITES)).split(","):
    importlib.import_module(f"bench.{name}").main()
