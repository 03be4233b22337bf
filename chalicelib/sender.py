"""Outbound webhook HTTP: URL validation (create time) and one POST attempt (send time).

Rules (see also tests/unit/test_sender.py):
* URLs: absolute http/https only, <= 2048 chars, no whitespace/control characters or
  backslashes, a host is required, no ``user:pass@`` credentials (put them in headers),
  port 1-65535, no IPv6 zone ids. Non-ASCII host names are IDNA-encoded. A host whose
  last label is numeric is parsed as IPv4 the way browsers do (``2130706433``,
  ``0x7f000001``, ``017700000001``, ``127.1``, ``0`` are all IPv4 literals), so
  these odd spellings can never slip past the address check.
* Unless ``allow_private``, every address the host resolves to must be public (see
  ``core.targets.why_forbidden``). ``check_url`` accepts names that do not resolve yet (users may
  create hooks before DNS exists); ``post`` resolves once, checks every address and then
  connects to the checked address itself (no DNS rebinding window). TLS SNI,
  certificate verification and the Host header still use the real host name.
* ``post`` never follows redirects and never raises for network problems or a bad URL:
  it returns an AttemptResult with ``status=None`` and a short ``error``.
* A client certificate (mTLS, ``client_cert``) is presented from a file urllib3 can load: cert and
  key written once per container to a 0600 file in the temp directory named by their hash; pools
  are keyed by it too, so no connection made with one certificate serves another.
"""
import codecs
import email.utils
import hashlib
import ipaddress
import os
import socket
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone

import urllib3
from urllib3.exceptions import (ClosedPoolError, ConnectTimeoutError, NewConnectionError,
                                ProtocolError, ReadTimeoutError, SSLError)

from chalicelib.core import targets
from chalicelib.core.errors import InvalidInput, UnsafeTarget

EXCERPT_CHARS = 512
_READ_LIMIT = 4 * EXCERPT_CHARS     # bytes read for the excerpt (utf-8 is <= 4 bytes/char)
_DRAIN_LIMIT = 16 * 1024            # small bodies are drained so the connection is reused
_MAX_POOLS = 64
_POOL_SIZE = 10                     # the deliver handler sends up to 10 requests at once

try:                                # CA bundle: certifi when present, else system defaults
    import certifi
    _CA_CERTS = certifi.where()
except ImportError:                 # pragma: no cover
    _CA_CERTS = None


@dataclass
class AttemptResult:
    status: int | None
    duration_ms: int
    error: str | None
    excerpt: str
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status <= 299

    @property
    def refused(self) -> bool:
        """The SSRF guard refused the target: no retry can change that, so the delivery fails at once."""
        return self.status is None and (self.error or "").startswith("refused:")


def _default_resolver(host, port):
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _resolve(target, resolver):
    """Addresses for target (deduplicated, in resolver order). Raises OSError/ValueError."""
    if target.ip is not None:
        return [target.ip]
    found = []
    for text in (resolver or _default_resolver)(target.host, target.port):
        ip = ipaddress.ip_address(str(text).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise OSError("no addresses")
    return found


def check_url(url: str, *, allow_private: bool, field: str = "url", resolver=None) -> None:
    """Create-time check. Raises InvalidInput (malformed) or UnsafeTarget (forbidden address).
    A host name that does not resolve (yet) is accepted; post() checks it again."""
    target = targets.parse(url, field)
    if allow_private:
        return
    name = target.host.rstrip(".")
    if target.ip is None and (name == "localhost" or name.endswith(".localhost")):
        raise UnsafeTarget(f"{field}: '{target.host}' is a loopback name; webhook targets "
                           "must be public internet hosts", field=field)
    try:
        addresses = _resolve(target, resolver)
    except (OSError, ValueError, UnicodeError):
        return
    for ip in addresses:
        why = targets.why_forbidden(ip)
        if why:
            where = (f"{ip} is {why}" if target.ip is not None
                     else f"host '{target.host}' resolves to {ip}, which is {why}")
            raise UnsafeTarget(f"{field}: {where}; webhook targets must be publicly reachable "
                               "internet addresses, so use a public host name or IP address",
                               field=field)


# ---------------------------------------------------------------- sending

_pools = OrderedDict()
_pools_lock = threading.Lock()


@dataclass(frozen=True)
class ClientCert:
    """A client certificate and its key, in one PEM file; `identity` keys the pools."""
    path: str
    identity: str


def client_cert(certificate_pem: str, private_key_pem: str) -> ClientCert:
    """The file urllib3 loads a client certificate from, written once (0600, atomically)."""
    identity = hashlib.sha256(f"{certificate_pem}\n{private_key_pem}".encode()).hexdigest()[:32]
    path = os.path.join(tempfile.gettempdir(), f"infrai-mtls-{identity}.pem")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(prefix="infrai-mtls-", suffix=".tmp")   # 0600
        with os.fdopen(fd, "w") as f:
            f.write(certificate_pem.rstrip("\n") + "\n" + private_key_pem)
        os.replace(tmp, path)
    return ClientCert(path, identity)


def _pool(scheme, ip, port, hostname, cert: ClientCert | None = None):
    key = (scheme, str(ip), port, hostname, cert.identity if cert else None)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        common = dict(port=port, maxsize=_POOL_SIZE, block=False, retries=False)
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                str(ip), server_hostname=hostname, assert_hostname=hostname,
                cert_reqs="CERT_REQUIRED", ca_certs=_CA_CERTS, cert_file=cert.path if cert else None, **common)
        else:
            pool = urllib3.HTTPConnectionPool(str(ip), **common)
        _pools[key] = pool
        while len(_pools) > _MAX_POOLS:
            _pools.popitem(last=False)[1].close()   # in-flight connections close on return
        return pool


def _reset_pools():
    """Close and forget all cached pools (tests, or after changing _CA_CERTS)."""
    with _pools_lock:
        while _pools:
            _pools.popitem()[1].close()


def _parse_retry_after(value, now=None):
    """Seconds from a Retry-After value (delta-seconds or HTTP-date); None if invalid."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        # a huge number of seconds means "much later": the retry policy caps it at an hour anyway
        return float(int(value)) if len(value) <= 9 else 1e9
    try:
        when = email.utils.parsedate_to_datetime(value[:200])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _network_error(exc, timeout):
    """Short human text for a urllib3/socket failure."""
    if isinstance(exc, NewConnectionError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, OSError) and cause.strerror:
            return f"connection failed: {cause.strerror.lower()}"
        return "connection failed"
    if isinstance(exc, ConnectTimeoutError):
        return f"connect timeout after {min(timeout, 10):g}s"
    if isinstance(exc, (ReadTimeoutError, TimeoutError, socket.timeout)):
        return f"timeout after {timeout:g}s"
    if isinstance(exc, SSLError):
        reason = exc.args[0] if exc.args else exc
        return f"TLS error: {str(reason)[:200]}"
    if isinstance(exc, ProtocolError):
        inner = exc.args[1] if len(exc.args) > 1 else None
        if type(inner).__name__ == "RemoteDisconnected":
            return "connection closed without a response"
        if isinstance(inner, ConnectionResetError):
            return "connection reset"
        if isinstance(inner, (ReadTimeoutError, TimeoutError)):
            return f"timeout after {timeout:g}s"
        return f"protocol error: {str(inner or exc)[:200]}"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return f"request failed: {type(exc).__name__}: {str(exc)[:200]}"


def _read_excerpt(resp, deadline, limit=_READ_LIMIT):
    """Read at most `limit` bytes for the excerpt (and drain small bodies so the connection
    can be reused) without going past the deadline. Returns (text, complete): at most
    EXCERPT_CHARS of it for the default limit, all that was read for a larger one."""
    data, seen, complete = b"", 0, False
    drain = max(_DRAIN_LIMIT, limit)
    try:
        while seen < drain:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock = getattr(resp.connection, "sock", None)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = resp.read1(drain - seen)
            if not chunk:
                complete = True
                break
            seen += len(chunk)
            if len(data) < limit:
                data = (data + chunk)[:limit]
    except Exception:       # a slow or broken body never turns a received status into an error
        complete = False
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(
        data, final=complete and seen <= limit)
    return (text[:EXCERPT_CHARS] if limit == _READ_LIMIT else text), complete


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float,
         allow_private: bool, resolver=None, client_cert: ClientCert | None = None,
         read_limit: int = _READ_LIMIT) -> AttemptResult:
    """One POST attempt. Never raises for network problems, refused targets or bad URLs.
    `read_limit`: bytes of the response kept (a token response is read whole, up to it)."""
    start = time.monotonic()
    deadline = start + timeout

    def result(status=None, error=None, excerpt="", retry_after=None):
        ms = int((time.monotonic() - start) * 1000)
        return AttemptResult(status, ms, error, excerpt, retry_after)

    try:
        target = targets.parse(url, "url")
    except InvalidInput as exc:
        return result(error=f"invalid url: {exc.message}")
    try:
        addresses = _resolve(target, resolver)
    except Exception:
        return result(error=f"could not resolve host {target.host}")
    if not allow_private:
        for ip in addresses:
            why = targets.why_forbidden(ip)
            if why:
                return result(error=f"refused: {ip} is {why}")

    send_headers = {k: v for k, v in (headers or {}).items()
                    if k.lower() not in ("host", "content-length", "transfer-encoding")}
    send_headers["Host"] = target.host_header
    error = None
    for ip in addresses:            # fall over to the next address only if connecting failed
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        # total bounds connect + time to the response headers; the body read below
        # re-arms the socket timeout with what is left until the deadline.
        timeout_obj = urllib3.Timeout(total=remaining, connect=min(remaining, 10), read=remaining)
        for _ in range(2):          # a pool closed by LRU eviction in another thread: retry
            pool = _pool(target.scheme, ip, target.port, target.host, client_cert if target.scheme == "https" else None)
            try:
                resp = pool.urlopen("POST", target.path, body=body, headers=send_headers,
                                    retries=False, redirect=False, timeout=timeout_obj,
                                    preload_content=False, assert_same_host=False)
                break
            except ClosedPoolError as exc:
                resp, error = None, _network_error(exc, timeout)
            except NewConnectionError as exc:
                resp, error = None, _network_error(exc, timeout)
                break
            except Exception as exc:
                return result(error=_network_error(exc, timeout))
        if resp is None:
            continue
        complete = False
        try:
            excerpt, complete = _read_excerpt(resp, deadline, read_limit)
            retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
            status = resp.status
        finally:
            if not complete:
                resp.close()        # unread body left: never reuse this connection
            resp.release_conn()
        return result(status=status, excerpt=excerpt, retry_after=retry_after)
    return result(error=error)
