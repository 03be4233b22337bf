"""The local stack: moto server as the embedded AWS, the resources provisioned from the same
definitions deployment uses, the HTTP API, and the stand-ins for what moto lacks: an SQS poller
for the deliver function and an EventBridge Scheduler emulator that fires schedules. One process
tree (moto is a child process), 127.0.0.1 only."""
import logging
import os
import socket
import threading

log = logging.getLogger("infrai.local")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_environment(moto_port: int) -> dict:
    """What the app reads on the local stage. Credentials are dummies: nothing reaches AWS."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "INFRAI_STAGE": "local", "INFRAI_ALLOW_PRIVATE_TARGETS": "1",
        # the dispatch queue name the deliver handler is bound to
        "INFRAI_DISPATCH_QUEUE": "infrai-local-dispatch",
    }


def _handler_classes():
    from chalice.local import ChaliceRequestHandler

    class Handler(ChaliceRequestHandler):
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms
        disable_nagle_algorithm = True

        def _generic_handle(self):
            """Only requests addressed to this stack by a loopback name: a web page whose name was
            rebound to 127.0.0.1 (DNS rebinding) reaches this port with its own name as Host, and
            would otherwise read the stack's answers (activation needs no key here)."""
            host = (self.headers.get("Host") or "").strip().lower()
            port = self.server.server_address[1]
            names = ("127.0.0.1", "localhost", "[::1]")
            if host in {f"{n}:{port}" for n in names} or (port == 80 and host in names):
                return super()._generic_handle()
            import json
            body = json.dumps({"error": {
                "code": "misdirected_request", "field": None,
                "message": f"The local stack answers only requests addressed to http://127.0.0.1:{port} "
                           f"or http://localhost:{port} (Host header {host[:80]!r} refused, so that no web page "
                           "can reach it through a rebound name); use one of those as the base URL."}}).encode()
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length <= 1 << 20:
                self.rfile.read(length)      # the connection stays usable
            else:
                self.close_connection = True
            self._send_http_response(421, {"Content-Type": "application/json"}, body)

        # the base class binds these to its own _generic_handle
        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def _send_error_response(self, error):
            """Chalice's own answer to a path no route has is API Gateway's 403, whose body echoes
            the Authorization header: a 404 in our format instead, naming nothing the caller sent
            (deployed stages say the same through API Gateway's gateway responses)."""
            from chalicelib.api.errors import NO_ROUTE
            if error.CODE != 403:
                return super()._send_error_response(error)
            self._send_http_response(404, {"Content-Type": "application/json"}, NO_ROUTE)

        def send_error(self, code, message=None, explain=None):
            """http.server's own answers (a method it has no handler for, a malformed request
            line) in our JSON error format; an unknown method is a 405, as API Gateway says."""
            import json
            status = 405 if code == 501 else code
            kind = "method_not_allowed" if status == 405 else "invalid_request"
            body = json.dumps({"error": {"code": kind, "message": f"{message or 'Bad request'}; "
                                         "see the API reference."}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True

    class Quiet(Handler):
        def log_message(self, *args):
            pass
    return Handler, Quiet


def _server_class():
    from chalice.local import ThreadedHTTPServer

    class Server(ThreadedHTTPServer):
        # socketserver listens with a backlog of 5: a burst of 50 new connections overflowed
        # it while the stack was busy, and the kernel reset some of them mid-request
        request_queue_size = 1024
    return Server


class LocalStack:
    def __init__(self, port: int | None = None, moto_port: int | None = None, api_key: str | None = None,
                 pollers: int = 4, quiet: bool = False, state_file=None,
                 snapshot_every: float | None = None):
        """`state_file`: where the DynamoDB tables are kept across restarts (local/state.py);
        None keeps nothing (the tests' stacks). `snapshot_every`: seconds between periodic
        snapshots while running (default INFRAI_LOCAL_SNAPSHOT_SECONDS or 30; 0: only on stop)."""
        self.quiet = quiet
        self.port = port if port is not None else int(os.environ.get("PORT", "8000"))
        self.moto_port = moto_port or free_port()
        self.api_key = api_key or os.environ.get("INFRAI_LOCAL_API_KEY")
        self.pollers = pollers
        self.state_file = state_file
        self.snapshot_every = snapshot_every
        self.restored = None      # local.state.Restored, when a snapshot was loaded
        self.recovered = None     # what chalicelib.services.repair.recovery did after loading it
        self._moto = self._http = self._poller = self._scheduler = self._snapshots = None
        self.reconciler = None
        self._http_thread = None
        self._may_save = False    # never overwrite a snapshot that was not loaded first

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LocalStack":
        from .moto_process import MotoProcess

        os.environ.update(local_environment(self.moto_port))
        # the at-rest sealing key (chalicelib/core/at_rest.py): kept beside the snapshot, so what
        # was sealed before a restart opens after it; a stack that keeps nothing makes its own
        if not os.environ.get("INFRAI_SEAL_KEY"):
            from . import state
            os.environ["INFRAI_SEAL_KEY"] = state.seal_key(self.state_file)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)   # moto logs every request
        logging.getLogger("botocore.credentials").setLevel(logging.WARNING)
        logging.getLogger("botocore.configprovider").setLevel(logging.WARNING)
        self._moto = MotoProcess(self.moto_port).start()
        from chalicelib.aws import clients, dispatch
        clients.reset()
        dispatch.reset()
        from . import provision
        urls = provision.provision()
        if self.state_file:
            self._restore_state()
        self._start_api()
        self._start_poller(urls["dispatch_queue_url"])
        from chalicelib import config

        from .scheduler_emulator import SchedulerEmulator
        self._scheduler = SchedulerEmulator(config.schedule_group()).start()
        self._start_reconciler()
        from chalicelib.services.tenancy import projects
        if self.api_key:
            self.project_id = projects.ensure_project_for_key(self.api_key)
        else:
            created = projects.create_project(plan="unlimited")
            self.api_key, self.project_id = created["api_key"], created["project_id"]
        # activate() on this stack hands out this project: one key, one secret (chalicelib/config.py)
        os.environ["INFRAI_LOCAL_PROJECT_KEY"] = self.api_key
        if self.state_file:
            self._start_snapshots()
        return self

    # -- state across restarts (local/state.py) ------------------------------------------------
    def _restore_state(self):
        """Load the snapshot, then rebuild from it what moto lost (schedules, waiting work),
        all before the API, the poller and the emulator start: no request races the requeue,
        requeued work waits in SQS until the poller runs, and the emulator arms the recreated
        schedules from now on (no backfill of the time the stack was down)."""
        from . import state
        self.restored = state.restore(self.state_file)
        self._may_save = True
        if self.restored.total:
            from chalicelib import config
            from chalicelib.services.repair import recovery
            # the records just loaded are the table: recovery needs no Scan of its own
            self.recovered = recovery.recover(self.restored.items.get(config.table_name(), []))
            log.info("restored %d items from %s; recovery: %s", self.restored.total, self.state_file,
                     self.recovered)
        if not self.api_key and self.restored.meta.get("api_key"):
            self.api_key = self.restored.meta["api_key"]   # the key the banner showed last time

    def _state_meta(self) -> dict:
        return {"api_key": self.api_key, "project_id": getattr(self, "project_id", None)}

    def _start_snapshots(self):
        from . import state
        every = state.snapshot_interval() if self.snapshot_every is None else self.snapshot_every
        if every > 0:
            self._snapshots = state.PeriodicSnapshots(self.state_file, every, self._state_meta).start()

    def save_state(self) -> dict | None:
        """Write the snapshot now (a no-op without a state file, or before one was loaded)."""
        if not (self.state_file and self._may_save and self._moto):
            return None
        from . import state
        return state.save(self.state_file, self._state_meta())

    def _start_api(self):
        from chalice.config import Config
        from chalice.local import LocalDevServer
        _Handler, _QuietHandler = _handler_classes()

        from app import app
        config = Config.create(chalice_stage="local", app_name=app.app_name, lambda_timeout=60)
        self._http = LocalDevServer(app, config, "127.0.0.1", self.port,
                                    handler_cls=_QuietHandler if self.quiet else _Handler,
                                    server_cls=_server_class())
        self.port = self._http.server.server_address[1]
        self._http_thread = threading.Thread(target=self._http.server.serve_forever,
                                             name="http-api", daemon=True)
        self._http_thread.start()

    def _start_reconciler(self):
        from app import reconcile

        from .reconcile_timer import ReconcileTimer
        self.reconciler = ReconcileTimer(reconcile).start()

    def _start_poller(self, queue_url):
        from chalicelib.aws import clients
        from app import deliver

        from .poller import Poller
        arn = clients.sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self._poller = Poller(deliver, queue_url, arn["Attributes"]["QueueArn"],
                              workers=self.pollers).start()

    def stop(self):
        """Graceful stop. New work stops coming in first (the Scheduler emulator, then the API's
        listener), then the snapshot is written, before the poller drains and moto goes: no 2xx
        is given for anything the snapshot lacks, and a hung delivery cannot delay the save.
        A batch that finishes after the save is simply made again after a restart (at least
        once, same webhook-id). Saving reads every item back from moto: about 1.6 s per 1,000."""
        try:
            try:
                if self._snapshots:
                    self._snapshots.stop()
                if self._scheduler:
                    self._scheduler.stop()
                if self.reconciler:
                    self.reconciler.stop()
                if self._http:
                    self._http.shutdown()
            finally:
                self._save_logged()
            if self._poller:
                self._poller.stop()
            if self._http:
                self._http.server.server_close()
        finally:
            os.environ.pop("INFRAI_LOCAL_PROJECT_KEY", None)
            if self._moto:
                self._moto.stop()

    def _save_logged(self):
        try:
            counts = self.save_state()
            if counts is not None:
                log.info("state saved to %s: %s", self.state_file, counts)
        except Exception:  # noqa: BLE001 - the stop goes on; the previous snapshot stays as it was
            log.exception("could not save the state to %s", self.state_file)
