"""A real HTTP receiver on 127.0.0.1 for delivery tests. It verifies every signature with the
`standardwebhooks` package (an implementation independent of ours) and records what arrived.

Behaviour is chosen per path by a script: `receiver.script("/flaky", [500, 500, 200])` answers
the first two requests with 500 and the rest with 200 (the last entry repeats)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Arrival:
    def __init__(self, path, headers, body, verified, at):
        self.path, self.headers, self.body, self.verified, self.at = path, headers, body, verified, at

    @property
    def json(self):
        return json.loads(self.body)


class Receiver:
    def __init__(self):
        self.secret = None          # set by the test: the project's whsec_ secret
        self.arrivals: list[Arrival] = []
        self._scripts: dict[str, list] = {}
        self.in_flight: dict[str, int] = {}       # requests being answered now, per path
        self.max_in_flight: dict[str, int] = {}   # the most ever answered at once, per path
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                receiver._arrive(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path):
        return self.base_url + path

    def script(self, path, responses):
        """Each response is a status, or (status, headers), or ("sleep", seconds), or "close"."""
        with self._lock:
            self._scripts[path] = list(responses)

    def _next(self, path):
        with self._lock:
            script = self._scripts.get(path)
            if not script:
                return 200
            return script.pop(0) if len(script) > 1 else script[0]

    def _verify(self, headers, body):
        if not self.secret:
            return False
        try:
            Webhook(self.secret).verify(body, {k.lower(): v for k, v in headers.items()})
            return True
        except Exception:  # noqa: BLE001
            return False

    def _arrive(self, handler, body):
        headers = {k.lower(): v for k, v in handler.headers.items()}
        arrival = Arrival(handler.path, headers, body, self._verify(headers, body), time.time())
        action = self._next(handler.path)
        with self._cond:
            self.arrivals.append(arrival)
            self.in_flight[handler.path] = self.in_flight.get(handler.path, 0) + 1
            self.max_in_flight[handler.path] = max(self.max_in_flight.get(handler.path, 0),
                                                   self.in_flight[handler.path])
            self._cond.notify_all()
        try:
            self._answer(handler, action)
        finally:
            with self._lock:
                self.in_flight[handler.path] -= 1

    def _answer(self, handler, action):
        if action == "close":
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        if isinstance(action, tuple) and action[0] == "sleep":
            time.sleep(action[1])
            action = 200
        status, extra = (action if isinstance(action, tuple) else (action, {}))
        payload = b'{"ok": true}'
        handler.send_response(status)
        for k, v in extra.items():
            handler.send_header(k, v)
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def at(self, path):
        with self._lock:
            return [a for a in self.arrivals if a.path == path]

    def wait_for(self, path, count, timeout=20.0):
        deadline = time.time() + timeout
        with self._cond:
            while len([a for a in self.arrivals if a.path == path]) < count:
                left = deadline - time.time()
                if left <= 0:
                    break
                self._cond.wait(left)
            return [a for a in self.arrivals if a.path == path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
