"""Authenticated endpoints (docs/endpoint-auth.md), end to end with real servers on 127.0.0.1: an
OAuth2 token server asked once for many sends, a fresh token on a 401, an mTLS receiver that
requires our client certificate; and what is stored and shown: no client secret, private key or
credential header value in clear, in the API or in the table."""
import datetime
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib import config, sender
from chalicelib.aws import clients
from chalicelib.services.receivers import endpoint_credentials

from .conftest import drain

SEND = "/v1/scheduling/webhook/send"
Q = "/v1/scheduling/queue"
CRON = "/v1/scheduling/cron"
SECRET = "cs-very-secret-0123456789"


class TokenServer:
    """An OAuth2 token endpoint: each request gets a new token, tok-1, tok-2 ..."""

    def __init__(self, expires_in=3600):
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                server.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                        "form": {k: v[0] for k, v in parse_qs(body).items()}})
                answer = json.dumps({"access_token": f"tok-{len(server.requests)}", "token_type": "Bearer",
                                     "expires_in": expires_in}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth/token"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_server():
    s = TokenServer()
    yield s
    s.stop()


def oauth2(token_server, **more):
    return {"type": "oauth2_client_credentials", "token_url": token_server.url, "client_id": "infrai-test",
            "client_secret": SECRET, **more}


def send(api, url, **more):
    resp = api.call("POST", SEND, {"url": url, "payload": {"n": 1}, **more})
    assert resp.status_code == 202, resp.data
    return resp.data["delivery_id"]


def get(api, delivery_id):
    return api.call("GET", f"/v1/scheduling/webhook/deliveries/{delivery_id}").data


def table_text() -> str:
    return json.dumps(clients.dynamodb().scan(TableName=config.table_name())["Items"])


# ---------------------------------------------------------------- OAuth2

def test_one_token_for_two_sends_sent_as_bearer(api, receiver, token_server):
    ids = [send(api, receiver.url("/hook"), auth=oauth2(token_server, scope="hooks:write", audience="https://r"))
           for _ in range(2)]
    drain()
    arrivals = receiver.wait_for("/hook", 2)
    assert [a.headers["authorization"] for a in arrivals] == ["Bearer tok-1"] * 2
    assert all(a.verified for a in arrivals)    # still signed as always
    assert len(token_server.requests) == 1
    asked = token_server.requests[0]
    assert asked["form"] == {"grant_type": "client_credentials", "scope": "hooks:write", "audience": "https://r"}
    assert asked["headers"]["authorization"].startswith("Basic ")   # RFC 6749 §2.3.1, the default
    assert [get(api, i)["state"] for i in ids] == ["succeeded"] * 2


def test_another_container_takes_the_token_from_the_table(api, receiver, token_server):
    send(api, receiver.url("/hook"), auth=oauth2(token_server))
    drain()
    endpoint_credentials._reset()   # what a fresh Lambda container holds: nothing
    send(api, receiver.url("/hook"), auth=oauth2(token_server))
    drain()
    assert [a.headers["authorization"] for a in receiver.wait_for("/hook", 2)] == ["Bearer tok-1"] * 2
    assert len(token_server.requests) == 1


def test_a_401_gets_one_fresh_token_and_one_more_request(api, receiver, token_server):
    receiver.script("/strict", [401, 200])
    delivery_id = send(api, receiver.url("/strict"), auth=oauth2(token_server))
    drain()
    assert [a.headers["authorization"] for a in receiver.wait_for("/strict", 2)] == ["Bearer tok-1", "Bearer tok-2"]
    d = get(api, delivery_id)
    assert d["state"] == "succeeded" and d["attempt_count"] == 1 and d["attempts"][0]["status_code"] == 200


def test_still_401_after_the_refresh_is_a_failed_attempt(api, receiver, token_server):
    receiver.script("/never", [401])
    delivery_id = send(api, receiver.url("/never"), auth=oauth2(token_server), retries=0)
    drain()
    assert len(receiver.wait_for("/never", 2)) == 2 and len(token_server.requests) == 2
    d = get(api, delivery_id)
    assert d["state"] == "failed" and [a["status_code"] for a in d["attempts"]] == [401]


def test_client_secret_in_the_body_when_asked(api, receiver, token_server):
    send(api, receiver.url("/hook"), auth=oauth2(token_server, client_authentication="body"))
    drain()
    assert receiver.wait_for("/hook", 1)[0].headers["authorization"] == "Bearer tok-1"
    asked = token_server.requests[0]
    assert asked["form"]["client_secret"] == SECRET and "authorization" not in asked["headers"]


def test_a_token_server_that_refuses_fails_the_attempt_without_sending(api, receiver):
    receiver.script("/oauth/token", [(401, {"content-type": "application/json"})])
    delivery_id = send(api, receiver.url("/hook"), retries=0,
                       auth={"type": "oauth2_client_credentials", "token_url": receiver.url("/oauth/token"),
                             "client_id": "x", "client_secret": SECRET})
    drain()
    d = get(api, delivery_id)
    assert d["state"] == "failed" and d["attempts"][0]["error"].startswith("token request to ")
    assert "HTTP 401" in d["attempts"][0]["error"] and SECRET not in json.dumps(d)
    assert receiver.at("/hook") == []


def test_a_queue_and_a_cron_job_send_with_their_auth(api, receiver, token_server):
    put = api.call("PUT", f"{Q}/billing", {"url": receiver.url("/q"), "auth": oauth2(token_server)})
    assert put.status_code == 200 and put.data["auth"] == {
        "type": "oauth2_client_credentials", "token_url": token_server.url, "client_id": "infrai-test"}
    api.call("POST", f"{Q}/publish", {"queue": "billing", "payload": {"i": 1}})
    job = api.call("POST", CRON, {"name": "n", "schedule": "0 9 * * *", "url": receiver.url("/c"),
                                  "auth": oauth2(token_server)})
    assert job.status_code == 201 and job.data["auth"]["type"] == "oauth2_client_credentials"
    assert api.call("POST", f"{CRON}/{job.data['cron_id']}/trigger").status_code == 202
    drain()
    assert receiver.wait_for("/q", 1)[0].headers["authorization"] == "Bearer tok-1"
    assert receiver.wait_for("/c", 1)[0].headers["authorization"] == "Bearer tok-1"
    assert len(token_server.requests) == 1
    got = [api.call("GET", f"{Q}/billing").data, api.call("GET", f"{CRON}/{job.data['cron_id']}").data]
    assert SECRET not in json.dumps(got) and all("client_secret" not in g["auth"] for g in got)
    cleared = api.call("PATCH", f"{CRON}/{job.data['cron_id']}", {"auth": None})
    assert cleared.status_code == 200 and "auth" not in cleared.data


# ---------------------------------------------------------------- mTLS

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, key, issuer, issuer_key, *, ca=False, ip=None, days=1):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=2)).not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ip:
        import ipaddress
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def pki():
    """A client CA, a client certificate it signed, and the receiver's own certificate for 127.0.0.1."""
    ca_key, client_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert("test client CA", ca_key, "test client CA", ca_key, ca=True)
    return {"ca": ca, "client": _cert("infrai client", client_key, "test client CA", ca_key), "client_key": client_key,
            "server": _cert("127.0.0.1", server_key, "127.0.0.1", server_key, ca=True, ip="127.0.0.1"),
            "server_key": server_key}


@pytest.fixture
def mtls_receiver(pki, tmp_path, monkeypatch):
    """An https receiver on 127.0.0.1 that requires a client certificate signed by the test CA;
    our sender trusts its certificate (as it would a public CA's)."""
    (tmp_path / "server.pem").write_text(_pem(pki["server"]) + _pem(pki["server_key"]))
    (tmp_path / "ca.pem").write_text(_pem(pki["ca"]))
    (tmp_path / "trust.pem").write_text(_pem(pki["server"]))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "server.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(tmp_path / "ca.pem")
    seen = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            seen.append(dict(self.connection.getpeercert()["subject"][0]))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(sender, "_CA_CERTS", str(tmp_path / "trust.pem"))
    sender._reset_pools()
    server.url, server.seen = f"https://127.0.0.1:{server.server_address[1]}/hook", seen
    yield server
    server.shutdown()
    server.server_close()
    sender._reset_pools()


def mtls(pki, key=None):
    return {"type": "mtls", "certificate": _pem(pki["client"]), "private_key": _pem(key or pki["client_key"])}


def test_an_mtls_receiver_accepts_our_certificate_and_refuses_without(api, pki, mtls_receiver):
    with_cert = send(api, mtls_receiver.url, auth=mtls(pki), retries=0)
    without = send(api, mtls_receiver.url, retries=0)
    drain()
    assert mtls_receiver.seen == [{"commonName": "infrai client"}]
    assert get(api, with_cert)["state"] == "succeeded"
    refused = get(api, without)
    assert refused["state"] == "failed" and refused["attempts"][0]["status_code"] is None
    shown = get(api, with_cert)["auth"]
    assert shown["type"] == "mtls" and shown["certificate_subject"] == "CN=infrai client"
    assert "private_key" not in shown and "PRIVATE KEY" not in table_text()


@pytest.mark.parametrize("change, field", [
    (lambda a: {**a, "certificate": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"},
     "auth.certificate"),
    (lambda a: {**a, "private_key": "not a key"}, "auth.private_key"),
    (lambda a: {**a, "private_key": _pem(ec.generate_private_key(ec.SECP256R1()))}, "auth.private_key"),
    (lambda a: {**a, "type": "basic"}, "auth.type"),
    (lambda a: {**a, "password": "x"}, "auth.password"),
])
def test_bad_credentials_are_a_400_and_store_nothing(api, pki, change, field):
    before = table_text().count('"DLV#')
    auth = change(mtls(pki))
    for method, path, body in [("POST", SEND, {"url": "https://x.example.com/", "payload": {}, "auth": auth}),
                               ("PUT", f"{Q}/q1", {"url": "https://x.example.com/", "auth": auth}),
                               ("POST", CRON, {"name": "n", "schedule": "0 9 * * *", "url": "https://x.example.com/",
                                               "auth": auth})]:
        resp = api.call(method, path, body)
        assert resp.status_code == 400 and resp.data["error"]["field"] == field, (path, resp.data)
    assert table_text().count('"DLV#') == before and '"QUEUE#' not in table_text() and '"CRON#' not in table_text()


def test_mtls_needs_https_and_oauth2_a_clean_token_url(api, pki, token_server):
    resp = api.call("POST", SEND, {"url": "http://x.example.com/", "payload": {}, "auth": mtls(pki)})
    assert resp.status_code == 400 and "https" in resp.data["error"]["message"]
    bad = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {},
                                  "auth": {**oauth2(token_server), "token_url": "ftp://x"}})
    assert bad.status_code == 400 and bad.data["error"]["field"] == "auth.token_url"
    both = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}, "auth": oauth2(token_server),
                                   "headers": {"Authorization": "Bearer mine"}})
    assert both.status_code == 400 and both.data["error"]["field"] == "headers"


# ---------------------------------------------------------------- sealed and masked headers

def test_credential_headers_are_sealed_stored_masked_shown_and_sent_clear(api, receiver):
    headers = {"Authorization": "Bearer abcdefgh-1234", "X-Api-Key": "short", "X-Trace-Note": "plain"}
    delivery_id = send(api, receiver.url("/h"), headers=headers)
    shown = get(api, delivery_id)["headers"]
    assert shown["Authorization"] == "••••1234" and shown["X-Api-Key"] == "••••"
    assert shown["X-Trace-Note"] == "plain"
    raw = table_text()
    assert "abcdefgh-1234" not in raw and '"short"' not in raw and "plain" in raw
    drain()
    got = receiver.wait_for("/h", 1)[0].headers
    assert got["authorization"] == "Bearer abcdefgh-1234" and got["x-api-key"] == "short"


def test_a_record_stored_with_clear_headers_still_sends_them_and_is_shown_masked(api, receiver):
    from chalicelib.aws import keys, store
    delivery_id = send(api, receiver.url("/old"), headers={"Cookie": "session=abcdef123456"})
    store.update(*keys.delivery(delivery_id), {"headers": {"Cookie": "session=abcdef123456"}})   # as before sealing
    assert get(api, delivery_id)["headers"]["Cookie"] == "••••3456"
    drain()
    assert receiver.wait_for("/old", 1)[0].headers["cookie"] == "session=abcdef123456"
    assert get(api, delivery_id)["state"] == "succeeded"


def test_no_secret_in_clear_in_the_table(api, token_server, pki):
    send(api, "https://x.example.com/", auth=oauth2(token_server), delay_seconds=60)
    api.call("PUT", f"{Q}/q2", {"url": "https://x.example.com/", "auth": mtls(pki)})
    api.call("POST", CRON, {"name": "n", "schedule": "0 9 * * *", "url": "https://x.example.com/",
                            "auth": oauth2(token_server)})
    raw = table_text()
    assert SECRET not in raw and "PRIVATE KEY" not in raw and raw.count("sealed1:") >= 3


def test_a_stage_without_a_sealing_key_refuses_credentials_and_stores_nothing(api, token_server, monkeypatch):
    monkeypatch.delenv("INFRAI_SEAL_KEY")
    before = table_text().count('"DLV#')
    for body in ({"headers": {"Authorization": "Bearer abcdefgh-1234"}}, {"auth": oauth2(token_server)}):
        resp = api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {}, **body})
        assert resp.status_code == 503 and "INFRAI_SEAL_KEY" in resp.data["error"]["message"]
    assert table_text().count('"DLV#') == before
    assert api.call("POST", SEND, {"url": "https://x.example.com/", "payload": {},
                                   "headers": {"X-Tenant": "acme"}}).status_code == 202   # nothing to seal: as before


def test_a_token_url_the_guard_refuses_at_attempt_time_fails_the_delivery_at_once(api, receiver, token_server,
                                                                                   monkeypatch):
    delivery_id = send(api, receiver.url("/hook"), auth=oauth2(token_server), retries=3)
    monkeypatch.setenv("INFRAI_ALLOW_PRIVATE_TARGETS", "0")   # as on a deployed stage, where 127.0.0.1 is refused
    drain()
    d = get(api, delivery_id)
    assert d["state"] == "failed" and d["attempt_count"] == 1
    assert d["attempts"][0]["error"].startswith("refused: token request to ")
    assert token_server.requests == [] and receiver.at("/hook") == []
