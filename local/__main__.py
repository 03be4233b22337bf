"""`make run`: start the local stack in the foreground until Ctrl-C or SIGTERM."""
import logging
import signal
import threading
import time

from . import state
from .stack import LocalStack


def _state_line(stack) -> str:
    restored = stack.restored
    if restored is None or not restored.total:
        every = state.snapshot_interval()
        return f"{stack.state_file} (new; saved on stop{f' and every {every:g} s' if every > 0 else ''})"
    saved = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(restored.saved_at or 0))
    done = stack.recovered or {}
    return (f"restored {restored.total} items from {stack.state_file} (saved {saved}); "
            f"{done.get('schedules', 0)} cron jobs rescheduled, {done.get('requeued', 0)} deliveries "
            f"requeued, {done.get('released', 0)} held messages released")


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = LocalStack(state_file=state.default_path())
    try:
        stack.start()
    except state.SnapshotError as e:
        stack.stop()
        raise SystemExit(f"error: {e}")
    from chalicelib.services.tenancy import projects
    print(f"""
infrai scheduling — local stack is up
  base URL   {stack.base_url}
  API key    {stack.api_key}
  project    {stack.project_id}
  secret     {projects.current_secret(stack.project_id)}
  state      {_state_line(stack)}

  One project for local development (unlimited plan): `infra.activate()` against this stack
  saves the API key above, and every delivery is signed with the secret above.

  export INFRAI_BASE_URL={stack.base_url}
  export INFRAI_API_KEY={stack.api_key}
Ctrl-C stops everything (and saves the state; delete the file to start fresh).""", flush=True)
    stop.wait()
    print("stopping…", flush=True)
    stack.stop()


if __name__ == "__main__":
    main()
