"""Outbound webhook HTTP: URL validation (create time) and one POST attempt (send time).

Rules (see also tests/unit/test_sender.py):
* URLs: absolute http/https only, <= 2048 chars, no whitespace/control characters or
  backslashes, a host is required, no ``user:pass@`` credentials (put them in headers),
  port 1-65535, no IPv6 zone ids. Non-ASCII host names are IDNA-encoded. A host whose
  last label is numeric is parsed as IPv4 the way browsers do (``2130706433``,
  ``0x7f000001``, ``017700000001``, ``127.1``, ``0`` are all IPv4 literals), so
  these odd spellings can never slip past the address check.
* Unless ``allow_private``, every address the host resolves to must be public (see
  ``_why_forbidden``). ``check_url`` accepts names that do not resolve yet (users may
  create hooks before DNS exists); ``post`` resolves once, checks every address and then
  connects to the checked address itself (no DNS rebinding window). TLS SNI,
  certificate verification and the Host header still use the real host name.
* ``post`` never follows redirects and never raises for network problems or a bad URL:
  it returns an AttemptResult with ``status=None`` and a short ``error``.
"""
import codecs
import email.utils
import ipaddress
import re
import socket
import threading
import time
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone

import urllib3
from urllib3.exceptions import (ClosedPoolError, ConnectTimeoutError, NewConnectionError,
                                ProtocolError, ReadTimeoutError, SSLError)

from chalicelib.core.errors import InvalidInput, UnsafeTarget

MAX_URL_LENGTH = 2048
EXCERPT_CHARS = 512
_READ_LIMIT = 4 * EXCERPT_CHARS     # bytes read for the excerpt (utf-8 is <= 4 bytes/char)
_DRAIN_LIMIT = 16 * 1024            # small bodies are drained so the connection is reused
_MAX_POOLS = 64
_POOL_SIZE = 10                     # the deliver handler sends up to 10 requests at once
_DEFAULT_PORTS = {"http": 80, "https": 443}
_EXAMPLE = "use an absolute URL like https://example.com/webhook"

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


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str                       # lowercase ASCII name, or canonical IP text
    ip: object                      # ipaddress object when the host is an IP literal
    port: int
    host_header: str
    path: str                       # request target: path + query, ASCII


# ---------------------------------------------------------------- URL parsing

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")


def _bad(field, message):
    return InvalidInput(f"{field}: {message}", field=field)


def _parse_ipv4_number(host, field):
    """WHATWG URL IPv4 parser: 1-4 dot-separated decimal/0x-hex/0-octal numbers, the last
    one filling the remaining bytes (so 127.1 == 127.0.0.1 and 2130706433 == 127.0.0.1)."""
    def number(part):
        if part[:2].lower() == "0x":
            return int(part[2:] or "0", 16)
        return int(part, 8 if len(part) > 1 and part[0] == "0" else 10)
    try:
        nums = [number(part) for part in host.split(".")]
        if len(nums) > 4 or any(n > 255 for n in nums[:-1]) or nums[-1] >= 256 ** (5 - len(nums)):
            raise ValueError(host)
    except ValueError:
        raise _bad(field, f"'{host}' is not a valid IPv4 address; write it as a.b.c.d") from None
    return ipaddress.IPv4Address(sum(n << 8 * (3 - i) for i, n in enumerate(nums[:-1])) + nums[-1])


def _parse_host(raw, field):
    """Return (host, ip-or-None) for the host part of an authority."""
    if raw.startswith("["):
        inner = raw[1:-1] if raw.endswith("]") else ""
        if "%" in inner:
            raise _bad(field, "IPv6 zone ids (%...) are not allowed; remove them")
        try:
            ip = ipaddress.IPv6Address(inner)
        except ValueError:
            raise _bad(field, f"'{raw}' is not a valid IPv6 address; write it like [2001:db8::1]")
        return str(ip), ip
    if not raw:
        raise _bad(field, f"the URL has no host; {_EXAMPLE}")
    if "%" in raw or ":" in raw:
        raise _bad(field, f"host '{raw}' contains invalid characters; {_EXAMPLE}")
    try:
        host = raw.encode("idna").decode("ascii").lower() if not raw.isascii() else raw.lower()
    except UnicodeError:
        raise _bad(field, f"host '{raw}' is not a valid domain name")
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        ip = _parse_ipv4_number(".".join(labels), field)
        return str(ip), ip
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _bad(field, f"host '{raw}' is not a valid domain name; use letters, digits, "
                          "hyphens and dots, e.g. hooks.example.com")
    return host, None


def _parse(url, field):
    if not isinstance(url, str) or not url:
        raise _bad(field, f"a URL is required; {_EXAMPLE}")
    if len(url) > MAX_URL_LENGTH:
        raise _bad(field, f"the URL is {len(url)} characters; the maximum is {MAX_URL_LENGTH}")
    if any(c.isspace() or ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in url):
        raise _bad(field, "the URL contains whitespace or control characters; "
                          "percent-encode them (e.g. %20 for a space)")
    if "\\" in url:
        raise _bad(field, "the URL contains a backslash; use '/' or percent-encode it as %5C")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:   # e.g. unbalanced brackets, "[127.0.0.1]"
        raise _bad(field, f"malformed host ({exc}); write IPv6 hosts like "
                          "http://[2001:db8::1]/ and IPv4 hosts without brackets")
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        got = f"'{parts.scheme}'" if parts.scheme else "none"
        raise _bad(field, f"the URL scheme must be http or https (got {got}); {_EXAMPLE}")
    netloc = parts.netloc
    if "@" in netloc:
        raise _bad(field, "credentials in the URL (user:password@host) are not allowed; "
                          "put credentials in headers instead")
    m = re.match(r"^(\[[^\]]*\]|[^:\[\]]*)(?::([^:]*))?$", netloc)
    if not m:
        raise _bad(field, f"could not parse host and port from '{netloc}'; {_EXAMPLE}")
    host, ip = _parse_host(m.group(1), field)
    port_text = m.group(2)
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise _bad(field, f"port '{port_text}' is out of range; use a number from 1 to 65535")
        port = int(port_text)
    else:
        port = _DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ip is not None and ip.version == 6 else host
    host_header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    path = re.sub(r"[^\x21-\x7e]", lambda c: urllib.parse.quote(c.group()), path)
    return _Target(scheme, host, ip, port, host_header, path)


# ------------------------------------------------------------ address policy

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_TEREDO = ipaddress.ip_network("2001::/32")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def _why_forbidden(ip):
    """None if ip is a public internet address, else a phrase like 'a private address'."""
    if ip.version == 6:
        embedded = None
        if ip.ipv4_mapped is not None:
            embedded = ip.ipv4_mapped
        elif ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip in _SIX_TO_FOUR:
            embedded = ip.sixtofour
        elif ip in _TEREDO:
            return "a Teredo tunnel address"
        if embedded is not None:
            inner = _why_forbidden(embedded)
            if inner:
                return f"an IPv6 address embedding {embedded} ({inner})"
            if ip.ipv4_mapped is not None or ip in _NAT64:
                return None         # a public IPv4 address, reached via mapping / NAT64
    checks = [
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip in _METADATA, "the cloud metadata service address"),
        (ip.is_link_local, "a link-local address"),
        (ip.version == 4 and ip in _CGNAT, "a carrier-grade NAT (shared) address"),
        (ip.is_multicast, "a multicast address"),
        (ip == ipaddress.IPv4Address("255.255.255.255"), "the broadcast address"),
        (ip.version == 6 and ip.is_site_local, "a site-local address"),
        (ip.version == 6 and ip in _NAT64_LOCAL, "a local-use NAT64 address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a special-purpose, non-public address"),
    ]
    return next((why for hit, why in checks if hit), None)


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
    target = _parse(url, field)
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
        why = _why_forbidden(ip)
        if why:
            where = (f"{ip} is {why}" if target.ip is not None
                     else f"host '{target.host}' resolves to {ip}, which is {why}")
            raise UnsafeTarget(f"{field}: {where}; webhook targets must be publicly reachable "
                               "internet addresses, so use a public host name or IP address",
                               field=field)


# ---------------------------------------------------------------- sending

_pools = OrderedDict()
_pools_lock = threading.Lock()


def _pool(scheme, ip, port, hostname):
    key = (scheme, str(ip), port, hostname)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        common = dict(port=port, maxsize=_POOL_SIZE, block=False, retries=False)
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                str(ip), server_hostname=hostname, assert_hostname=hostname,
                cert_reqs="CERT_REQUIRED", ca_certs=_CA_CERTS, **common)
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
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
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


def _read_excerpt(resp, deadline):
    """Read at most _READ_LIMIT bytes for the excerpt (and drain small bodies so the
    connection can be reused) without going past the deadline. Returns (text, complete)."""
    data, seen, complete = b"", 0, False
    try:
        while seen < _DRAIN_LIMIT:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock = getattr(resp.connection, "sock", None)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = resp.read1(_DRAIN_LIMIT - seen)
            if not chunk:
                complete = True
                break
            seen += len(chunk)
            if len(data) < _READ_LIMIT:
                data = (data + chunk)[:_READ_LIMIT]
    except Exception:       # a slow or broken body never turns a received status into an error
        complete = False
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(
        data, final=complete and seen <= _READ_LIMIT)
    return text[:EXCERPT_CHARS], complete


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float,
         allow_private: bool, resolver=None) -> AttemptResult:
    """One POST attempt. Never raises for network problems, refused targets or bad URLs."""
    start = time.monotonic()
    deadline = start + timeout

    def result(status=None, error=None, excerpt="", retry_after=None):
        ms = int((time.monotonic() - start) * 1000)
        return AttemptResult(status, ms, error, excerpt, retry_after)

    try:
        target = _parse(url, "url")
    except InvalidInput as exc:
        return result(error=f"invalid url: {exc.message}")
    try:
        addresses = _resolve(target, resolver)
    except Exception:
        return result(error=f"could not resolve host {target.host}")
    if not allow_private:
        for ip in addresses:
            why = _why_forbidden(ip)
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
            pool = _pool(target.scheme, ip, target.port, target.host)
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
            excerpt, complete = _read_excerpt(resp, deadline)
            retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
            status = resp.status
        finally:
            if not complete:
                resp.close()        # unread body left: never reuse this connection
            resp.release_conn()
        return result(status=status, excerpt=excerpt, retry_after=retry_after)
    return result(error=error)
