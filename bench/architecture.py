"""The shape of the code, measured (issue 21): modules per services folder, the longest import
chain, folder-level import edges (a cycle fails), and how many modules a cron firing and a webhook
send pass through, traced call by call against moto in process with a real receiver on 127.0.0.1.

"Comes back" counts, per thread, each call that enters a module the path had already visited
and left: the figure a reader pays in jumps back and forth."""
import ast
import json
import os
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

from chalicelib.services.deliver import attempts

from .common import report

ROOT = Path(__file__).resolve().parents[1]
SERVICES = "chalicelib.services"


def module_files() -> dict[str, Path]:
    out = {"app": ROOT / "app.py"}
    for p in (ROOT / "chalicelib").rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every chalicelib module `name` imports, at module level or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                base = ".".join(up[:len(up) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                found.add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {name: imports_of(name, path, known) for name, path in files.items()}


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    memo: dict[str, list[str]] = {}

    def walk(node, seen):
        if node in memo:
            return memo[node]
        best = []
        for nxt in graph[node]:
            if nxt not in seen:
                chain = walk(nxt, seen | {nxt})
                if len(chain) > len(best):
                    best = chain
        memo[node] = [node] + best
        return memo[node]

    return max((walk(n, {n}) for n in graph), key=len)


def folder_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if module.startswith(SERVICES + ".") and len(parts) > 3 else None


def folder_edges(graph) -> Counter:
    edges = Counter()
    for src, dsts in graph.items():
        for dst in dsts:
            a, b = folder_of(src), folder_of(dst)
            if a and b and a != b:
                edges[(a, b)] += 1
    return edges


def folder_cycles(edges) -> list[tuple[str, str]]:
    return sorted((a, b) for (a, b) in edges if (b, a) in edges and a < b)


def static_figures():
    graph = import_graph()
    files = module_files()
    folders = defaultdict(list)
    for name in graph:
        if name.startswith(SERVICES + "."):
            folders[name.rpartition(".")[0]].append(name)
    rows = []
    for folder in sorted(folders):
        mods = [m for m in folders[folder] if not files[m].name == "__init__.py"]
        longest = max((len(files[m].read_text().splitlines()), m) for m in mods) if mods else (0, "")
        rows.append((f"{folder}: modules, longest (lines)", f"{len(mods)}, {longest[1].rpartition('.')[2]} ({longest[0]})"))
    chain = longest_chain(graph)
    rows.append(("longest import chain (modules)", f"{len(chain)}: " + " > ".join(c.replace(SERVICES + ".", "") for c in chain)))
    edges = folder_edges(graph)
    rows.append(("folder edges (importer > imported: imports)", ", ".join(f"{a}>{b}:{n}" for (a, b), n in sorted(edges.items()))))
    rows.append(("folder pairs importing each other", folder_cycles(edges) or "none"))
    nested = [n for n, p in files.items() for node in ast.walk(ast.parse(p.read_text()))
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              for inner in ast.walk(node) if isinstance(inner, ast.ImportFrom) and (inner.level or (inner.module or "").startswith("chalicelib"))]
    rows.append(("chalicelib imports inside functions", sorted(set(nested)) or "none"))
    return rows


class Trace:
    """The chalicelib modules each thread's calls enter, in order."""

    def __init__(self):
        self.calls = defaultdict(list)

    def _profile(self, frame, event, arg):
        if event == "call":
            module = frame.f_globals.get("__name__", "")
            if module.startswith("chalicelib."):
                self.calls[threading.get_ident()].append(module)

    def __enter__(self):
        attempts._pool = None   # a fresh pool: threads started before setprofile would not be traced
        sys.setprofile(self._profile)
        threading.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)
        threading.setprofile(None)

    def figures(self, prefix="chalicelib.") -> tuple[int, int]:
        """(modules visited, times a call came back to a module already visited and left)."""
        visited, back = set(), 0
        for seq in self.calls.values():
            path = [m for m in seq if m.startswith(prefix)]
            compressed = [m for i, m in enumerate(path) if i == 0 or path[i - 1] != m]
            seen = set()
            for m in compressed:
                back += m in seen
                seen.add(m)
            visited |= seen
        return len(visited), back


def traced_paths():
    """A cron firing (its SQS message through the router, then its attempt) and a webhook send
    (the API's service call, then its attempt), each to a real receiver on 127.0.0.1."""
    os.environ["INFRAI_ALLOW_PRIVATE_TARGETS"] = "1"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    from chalicelib.aws import clients, dispatch
    from local import moto_atomic, provision
    from tests.receiver import Receiver
    moto_atomic.install()
    with mock_aws():
        clients.reset()
        dispatch.reset()
        provision.provision()
        from chalicelib.services.cron import cron
        from chalicelib.services.deliver import router
        from chalicelib.services.tenancy import projects
        from chalicelib.services.webhooks import webhooks
        project = projects.create_project()
        pid = project["project_id"]
        receiver = Receiver()
        sqs = clients.sqs()

        def drain():
            while True:
                msgs = sqs.receive_message(QueueUrl=dispatch.dispatch_queue_url(), MaxNumberOfMessages=10,
                                           VisibilityTimeout=60).get("Messages", [])
                if not msgs:
                    return
                router.process_batch([m["Body"] for m in msgs], message_ids=[m["MessageId"] for m in msgs])
                for m in msgs:
                    sqs.delete_message(QueueUrl=dispatch.dispatch_queue_url(), ReceiptHandle=m["ReceiptHandle"])

        # warm up: first calls import and build clients, which would count as visits
        webhooks.send(pid, {"url": receiver.url("/warm"), "payload": {}}, None)
        drain()
        job = cron.create(pid, {"name": "j", "schedule": "0 9 * * *", "url": receiver.url("/cron")}, None)
        firing = json.dumps({"cron": job["cron_id"], "at": "2026-12-07T09:00:00Z"})
        rows = []
        with Trace() as t:
            router.process_batch([firing], message_ids=["m-1"])
            drain()
        rows += [("cron firing: chalicelib modules, comes back", "%d, %d" % t.figures()),
                 ("cron firing: services modules, comes back", "%d, %d" % t.figures(SERVICES + "."))]
        with Trace() as t:
            webhooks.send(pid, {"url": receiver.url("/hook"), "payload": {"a": 1}}, None)
            drain()
        rows += [("webhook send: chalicelib modules, comes back", "%d, %d" % t.figures()),
                 ("webhook send: services modules, comes back", "%d, %d" % t.figures(SERVICES + "."))]
        arrived = len(receiver.at("/cron")) + len(receiver.at("/hook"))
        rows.append(("deliveries that arrived (must be 2)", arrived))
        receiver.stop()
        clients.reset()
        dispatch.reset()
        return rows


def main():
    report("Architecture: folders, import chains, modules per path (issue 21)", static_figures() + traced_paths())


if __name__ == "__main__":
    main()
