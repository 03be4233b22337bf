"""`make run`: start the local stack in the foreground until Ctrl-C or SIGTERM."""
import logging
import signal
import threading

from .stack import LocalStack


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = LocalStack().start()
    from chalicelib.services import projects
    print(f"""
infrai scheduling — local stack is up
  base URL   {stack.base_url}
  API key    {stack.api_key}
  project    {stack.project_id}
  secret     {projects.current_secret(stack.project_id)}

  export INFRAI_BASE_URL={stack.base_url}
  export INFRAI_API_KEY={stack.api_key}
Ctrl-C stops everything.""", flush=True)
    stop.wait()
    print("stopping…", flush=True)
    stack.stop()


if __name__ == "__main__":
    main()
