"""A fake infrai API on 127.0.0.1: scripted answers, every request recorded."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FakeApi:
    def __init__(self):
        self.requests = []      # (method, path, headers, json body or None)
        self.script = []        # (status, body, headers) answered in order; then `default`
        self.default = (200, {"ok": True}, {})
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                fake.requests.append((self.command, self.path, dict(self.headers),
                                      json.loads(raw) if raw else None))
                status, body, headers = fake.script.pop(0) if fake.script else fake.default
                if callable(body):
                    body = body(self)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def answer(self, status, body=None, headers=None):
        self.script.append((status, body, headers))
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    f = FakeApi()
    yield f
    f.stop()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No real key, URL or home leaks into a test."""
    for name in ("INFRAI_API_KEY", "INFRAI_BASE_URL", "INFRAI_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


KEY = "ifr_pk_proj_" + "a" * 40


@pytest.fixture
def client(fake):
    from infrai import Infrai
    from infrai._http import Transport
    return Infrai(api_key=KEY, base_url=fake.url, transport=Transport(sleep=lambda s: None, max_retries=3))
