"""chalicelib.sender against real HTTP(S) servers on 127.0.0.1.

Safety: an autouse fixture makes any attempt to open a pool to a non-loopback address
fail the test, so nothing here ever touches this machine's real network. Name lookups
use injected resolvers, except for numeric hosts and 'localhost', which need no DNS.
"""
import datetime
import email.utils
import http.server
import ipaddress
import socket
import ssl
import threading
import time

import pytest

from chalicelib import sender
from chalicelib.core.errors import InvalidInput, UnsafeTarget


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": body,
                 "client_port": self.client_address[1]})
        route = {
            "/ok": (200, {}, b"hello " * 200),
            "/utf8": (200, {}, "\u00e9".encode() * 600),
            "/binary": (200, {}, b"ok\xff\xfe"),
            "/busy": (503, {"Retry-After": "7"}, b"busy"),
            "/busy-date": (503, {"Retry-After": email.utils.formatdate(
                time.time() + 60, usegmt=True)}, b""),
            "/busy-bad": (503, {"Retry-After": "soon"}, b""),
            "/redirect": (302, {"Location": "/target"}, b""),
            "/target": (200, {}, b"should never be reached"),
        }
        path = self.path.split("?")[0]
        if path == "/slow":
            time.sleep(1.5)
            route[path] = (200, {}, b"late")
        if path == "/hangup":
            self.close_connection = True
            return
        if path == "/slow-body":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"partial")
            self.wfile.flush()
            time.sleep(1.5)
            return
        if path == "/chunked":
            self.send_response(201)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"abc" * 100, b"def" * 300):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        status, headers, payload = route.get(path, (404, {}, b"no route"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except OSError:
            pass


def _start_server(ssl_context=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.requests, server.lock = [], threading.Lock()
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def _http_server():
    server = _start_server()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def srv(_http_server):
    with _http_server.lock:
        _http_server.requests.clear()
    return _http_server


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    real_pool = sender._pool

    def guarded(scheme, ip, port, hostname, cert=None):
        assert ipaddress.ip_address(str(ip)).is_loopback, f"test tried to reach {ip}"
        return real_pool(scheme, ip, port, hostname, cert)

    monkeypatch.setattr(sender, "_pool", guarded)
    yield
    sender._reset_pools()


def _url(server, path, host="127.0.0.1", scheme="http"):
    return f"{scheme}://{host}:{server.server_address[1]}{path}"


def _send(url, allow_private=True, timeout=5.0, resolver=None, headers=None):
    return sender.post(url, b'{"x": 1}', headers or {"Content-Type": "application/json"},
                       timeout=timeout, allow_private=allow_private, resolver=resolver)


def _resolver(mapping, calls=None):
    def resolve(host, port):
        if calls is not None:
            calls.append((host, port))
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(mapping[host])
    return resolve


def _unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ post()

def test_success_with_excerpt_and_body_delivered(srv):
    r = _send(_url(srv, "/ok?a=1"))
    assert r.ok and r.status == 200 and r.error is None and r.retry_after is None
    assert r.excerpt == ("hello " * 200)[:512]
    assert 0 <= r.duration_ms < 2000
    [req] = srv.requests
    assert req["path"] == "/ok?a=1" and req["body"] == b'{"x": 1}'
    assert req["headers"]["Content-Type"] == "application/json"


def test_excerpt_is_512_characters_of_utf8_with_replacement(srv):
    assert _send(_url(srv, "/utf8")).excerpt == "\u00e9" * 512
    assert _send(_url(srv, "/binary")).excerpt == "ok\ufffd\ufffd"


def test_chunked_response_and_connection_reuse(srv):
    r = _send(_url(srv, "/chunked"))
    assert r.status == 201 and r.excerpt == ("abc" * 100 + "def" * 300)[:512]
    assert _send(_url(srv, "/ok")).ok
    assert srv.requests[0]["client_port"] == srv.requests[1]["client_port"]


def test_503_with_retry_after_seconds(srv):
    r = _send(_url(srv, "/busy"))
    assert (r.status, r.ok, r.retry_after, r.error, r.excerpt) == (503, False, 7.0, None, "busy")


def test_503_with_retry_after_http_date(srv):
    r = _send(_url(srv, "/busy-date"))
    assert r.status == 503 and 55 <= r.retry_after <= 61


def test_invalid_retry_after_is_none(srv):
    assert _send(_url(srv, "/busy-bad")).retry_after is None


def test_parse_retry_after():
    now = datetime.datetime(2024, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
    assert sender._parse_retry_after("120", now) == 120.0
    assert sender._parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now) == 30.0
    assert sender._parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    for bad in (None, "", "-5", "1.5", "tomorrow", "Mon, 99 Foo 2024", "\u00b2", "\uff15",
                "Mon, 01 Jan 99999999999999999999 12:00:00 GMT"):
        assert sender._parse_retry_after(bad, now) is None, bad
    # absurdly long waits are "much later" (the retry policy caps them at an hour), not a crash
    assert sender._parse_retry_after("9" * 400, now) >= 3600
    assert sender._parse_retry_after("9" * 5000, now) >= 3600


def test_redirect_is_not_followed(srv):
    r = _send(_url(srv, "/redirect"))
    assert r.status == 302 and not r.ok
    assert [q["path"] for q in srv.requests] == ["/redirect"]


def test_timeout_bounds_the_attempt(srv):
    r = _send(_url(srv, "/slow"), timeout=0.5)
    assert r.status is None and "timeout" in r.error and "0.5s" in r.error
    assert 500 <= r.duration_ms < 2500


def test_slow_body_is_cut_at_the_deadline_keeping_the_status(srv):
    r = _send(_url(srv, "/slow-body"), timeout=0.5)
    assert (r.status, r.error, r.excerpt) == (200, None, "partial")
    assert 500 <= r.duration_ms < 1400


def test_server_closing_without_response(srv):
    r = _send(_url(srv, "/hangup"))
    assert r.status is None and not r.ok and r.error == "connection closed without a response"
    assert len(srv.requests) == 1


def test_connection_refused():
    r = _send(f"http://127.0.0.1:{_unused_port()}/hook")
    assert r.status is None and r.error == "connection refused"


def test_falls_over_to_next_address_when_connect_fails(srv):
    # ::1 has nothing listening on srv's port (or no IPv6 at all): next address is used
    r = _send(_url(srv, "/ok", host="multi.example.test"),
              resolver=_resolver({"multi.example.test": ["::1", "127.0.0.1"]}))
    assert r.status == 200


def test_host_header_is_the_original_name(srv):
    calls = []
    r = _send(_url(srv, "/ok", host="Hooks.Example.TEST"),
              resolver=_resolver({"hooks.example.test": ["127.0.0.1"]}, calls),
              headers={"Host": "evil.example", "X-Sig": "abc"})
    assert r.ok
    [req] = srv.requests
    assert req["headers"]["Host"] == f"hooks.example.test:{srv.server_address[1]}"
    assert req["headers"]["X-Sig"] == "abc"
    assert calls == [("hooks.example.test", srv.server_address[1])]   # resolved once


def test_numeric_host_forms_reach_loopback_when_private_allowed(srv):
    port = srv.server_address[1]
    for host in ("2130706433", "0x7f000001", "017700000001", "127.1"):
        assert _send(f"http://{host}:{port}/ok").status == 200
    assert [q["headers"]["Host"] for q in srv.requests] == [f"127.0.0.1:{port}"] * 4


def test_connections_are_reused(srv):
    assert _send(_url(srv, "/ok")).ok and _send(_url(srv, "/busy")).status == 503
    assert srv.requests[0]["client_port"] == srv.requests[1]["client_port"]


def test_concurrent_sends(srv):
    results = [None] * 10

    def work(i):
        results[i] = _send(_url(srv, f"/ok?i={i}"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ok for r in results) and len(srv.requests) == 10


def test_dns_rebinding_to_loopback_is_refused_and_nothing_is_sent(srv):
    r = _send(_url(srv, "/ok", host="rebind.example.test"), allow_private=False,
              resolver=_resolver({"rebind.example.test": ["127.0.0.1"]}))
    assert r.status is None and not r.ok
    assert r.error == "refused: 127.0.0.1 is a loopback address"
    assert srv.requests == []


def test_any_private_address_in_the_answer_is_refused(srv):
    r = _send(_url(srv, "/ok", host="mixed.example.test"), allow_private=False,
              resolver=_resolver({"mixed.example.test": ["93.184.216.34", "10.0.0.5"]}))
    assert r.error == "refused: 10.0.0.5 is a private address" and r.status is None
    assert srv.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "[::1]",
                                  "[::ffff:7f00:1]", "localhost"])
def test_post_refuses_loopback_literals_and_localhost(srv, host):
    r = _send(f"http://{host}:{srv.server_address[1]}/ok", allow_private=False)
    assert r.status is None and r.error.startswith("refused: ")
    assert srv.requests == []


def test_unresolvable_host_at_send_time():
    r = _send("http://nowhere.example.test/hook", allow_private=False, resolver=_resolver({}))
    assert r.status is None and r.error == "could not resolve host nowhere.example.test"


def test_bad_url_at_send_time_is_a_result_not_an_exception():
    r = _send("ftp://example.com/x")
    assert r.status is None and r.error.startswith("invalid url:")


def test_ok_is_2xx_only():
    mk = lambda s: sender.AttemptResult(s, 1, None, "", None)  # noqa: E731
    assert [mk(s).ok for s in (None, 199, 200, 204, 299, 300, 302, 404, 500)] == \
        [False, False, True, True, True, False, False, False, False]


# ------------------------------------------------------------- check_url()

FORBIDDEN = [
    "127.0.0.1", "127.255.0.9", "[::1]", "10.0.0.5", "172.16.0.1", "172.31.255.255",
    "192.168.1.1", "[fc00::1]", "[fd12:3456::1]", "169.254.169.254", "169.254.1.1",
    "[fe80::1]", "[fd00:ec2::254]", "100.64.0.1", "100.127.255.254", "224.0.0.1",
    "239.255.255.250", "[ff02::1]", "[ff0e::1]", "240.0.0.1", "255.255.255.255", "0.0.0.0",
    "[::]", "0", "0.1.2.3", "192.0.2.1", "198.18.0.1", "[2001:db8::1]", "[fec0::1]",
    "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::ffff:10.0.0.1]", "[::ffff:169.254.169.254]",
    "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[64:ff9b::a9fe:a9fe]", "[64:ff9b:1::1]",
    "[2002:7f00:1::1]", "[2002:c0a8:101::1]", "[2001::1]", "[2001:0:4136:e378::1]",
    # numeric spellings of 127.0.0.1 / 10.0.0.1 that resolvers accept
    "2130706433", "0x7f000001", "0X7F000001", "017700000001", "127.1", "127.0.1",
    "0x7f.1", "0177.0.0.1", "0x7f.0x0.0x0.0x1", "167772161", "10.1", "127.0.0.1.",
]


@pytest.mark.parametrize("host", FORBIDDEN)
def test_forbidden_addresses_are_unsafe(host):
    # no resolver injected: literal addresses never need DNS
    with pytest.raises(UnsafeTarget) as e:
        sender.check_url(f"http://{host}/hook", allow_private=False)
    assert e.value.field == "url" and "public" in e.value.message


def test_metadata_service_is_named():
    with pytest.raises(UnsafeTarget, match="metadata"):
        sender.check_url("http://169.254.169.254/latest/meta-data/", allow_private=False)


def test_unsafe_message_and_custom_field():
    with pytest.raises(UnsafeTarget) as e:
        sender.check_url("https://10.0.0.5/x", allow_private=False, field="target.url")
    assert e.value.field == "target.url"
    assert "10.0.0.5 is a private address" in e.value.message
    assert e.value.to_dict()["error"]["code"] == "unsafe_target"


def test_localhost_with_real_resolver_is_unsafe():
    for url in ("http://localhost/", "http://LOCALHOST:8080/", "http://api.localhost/"):
        with pytest.raises(UnsafeTarget):
            sender.check_url(url, allow_private=False)


def test_names_resolving_to_forbidden_addresses_are_unsafe():
    for answer in (["127.0.0.1"], ["93.184.216.34", "10.0.0.5"], ["::1"],
                   ["2606:2800:220:1::1", "fe80::1%eth0"], ["::ffff:192.168.0.1"]):
        with pytest.raises(UnsafeTarget, match="hooks.example.test' resolves to"):
            sender.check_url("https://hooks.example.test/x", allow_private=False,
                             resolver=_resolver({"hooks.example.test": answer}))


@pytest.mark.parametrize("url", [
    "http://93.184.216.34/", "https://93.184.216.34:8443/hook?a=b#frag",
    "http://[2606:2800:220:1::1]/", "https://[2606:2800:220:1::1]:443/x",
    "http://[::ffff:93.184.216.34]/", "http://[64:ff9b::5db8:d822]/",
    "http://[2002:5db8:d822::1]/", "http://8.8.8.8", "HTTPS://HOOKS.EXAMPLE.TEST/x",
    "https://hooks.example.test./x", "https://b\u00fccher.example.test/\u00fc?q=\u00e9",
])
def test_public_targets_pass(url):
    resolver = _resolver({"hooks.example.test": ["93.184.216.34", "2606:2800:220:1::1"],
                          "hooks.example.test.": ["93.184.216.34"],
                          "xn--bcher-kva.example.test": ["93.184.216.34"]})
    assert sender.check_url(url, allow_private=False, resolver=resolver) is None


def test_unresolvable_name_is_accepted_at_create_time():
    assert sender.check_url("https://not-yet.example.test/x", allow_private=False,
                            resolver=_resolver({})) is None


def test_allow_private_accepts_anything_resolvable_but_still_validates_syntax():
    for url in ("http://127.0.0.1:8000/", "http://localhost/", "http://[::1]/",
                "http://169.254.169.254/", "http://2130706433/"):
        sender.check_url(url, allow_private=True)
    with pytest.raises(InvalidInput):
        sender.check_url("ftp://127.0.0.1/", allow_private=True)


@pytest.mark.parametrize("url, fragment", [
    ("ftp://example.com/x", "http or https"),
    ("file:///etc/passwd", "http or https"),
    ("javascript:alert(1)", "http or https"),
    ("gopher://example.com/", "http or https"),
    ("example.com/hook", "http or https"),
    ("//example.com/hook", "http or https"),
    ("", "required"),
    ("http://", "no host"),
    ("http:///path", "no host"),
    ("https://:443/x", "no host"),
    ("http://exa mple.com/", "whitespace"),
    ("http://example.com/a b", "whitespace"),
    (" http://example.com/", "whitespace"),
    ("http://example.com/\n", "whitespace"),
    ("http://example.com/\x00", "control"),
    ("http://example.com\\@10.0.0.1/", "backslash"),
    ("http://user:pass@example.com/", "put credentials in headers instead"),
    ("http://user@example.com/", "put credentials in headers instead"),
    ("http://example.com:0/", "1 to 65535"),
    ("http://example.com:65536/", "1 to 65535"),
    ("http://example.com:http/", "1 to 65535"),
    ("http://example.com:-1/", "1 to 65535"),
    ("http://[::1/", "IPv6"),
    ("http://[fe80::1%25eth0]/", "zone"),
    ("http://[127.0.0.1]/", "IPv6"),
    ("http://a..b.com/", "domain name"),
    ("http://-bad-.com/", "domain name"),
    ("http://exa$mple.com/", "domain name"),
    ("http://256.1.1.1/", "IPv4"),
    ("http://1.2.3.4.5/", "IPv4"),
    ("http://example.123/", "IPv4"),
    ("http://0x100000000/", "IPv4"),
    ("http://example.com/" + "a" * 2048, "maximum is 2048"),
])
def test_malformed_urls_are_invalid_input(url, fragment):
    with pytest.raises(InvalidInput) as e:
        sender.check_url(url, allow_private=False, field="target", resolver=_resolver({}))
    assert type(e.value) is InvalidInput and e.value.field == "target"
    assert fragment.lower() in e.value.message.lower()


# ------------------------------------------------------------------- TLS

def _self_signed(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("hooks.example.test")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(d / "cert.pem"), str(d / "key.pem")


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    certfile, keyfile = _self_signed(tmp_path_factory)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    sni = []
    ctx.sni_callback = lambda sock, name, _ctx: sni.append(name)
    server = _start_server(ctx)
    server.sni, server.certfile = sni, certfile
    yield server
    server.shutdown()
    server.server_close()


RESOLVE_TLS = _resolver({"hooks.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})


def test_tls_untrusted_certificate_is_a_tls_error(tls):
    r = _send(_url(tls, "/ok", host="hooks.example.test", scheme="https"), resolver=RESOLVE_TLS)
    assert r.status is None and r.error.startswith("TLS error: ")


def test_tls_uses_real_hostname_for_sni_verification_and_host(tls, monkeypatch):
    monkeypatch.setattr(sender, "_CA_CERTS", tls.certfile)
    tls.sni.clear()
    r = _send(_url(tls, "/ok", host="hooks.example.test", scheme="https"), resolver=RESOLVE_TLS)
    assert r.ok and r.excerpt.startswith("hello")
    assert tls.sni == ["hooks.example.test"]
    assert tls.requests[-1]["headers"]["Host"] == f"hooks.example.test:{tls.server_address[1]}"


def test_tls_certificate_must_match_the_url_host(tls, monkeypatch):
    monkeypatch.setattr(sender, "_CA_CERTS", tls.certfile)
    r = _send(_url(tls, "/ok", host="other.example.test", scheme="https"), resolver=RESOLVE_TLS)
    assert r.status is None and r.error.startswith("TLS error: ")
