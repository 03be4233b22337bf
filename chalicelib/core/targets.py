"""Where a webhook may go, without touching the network: parsing target URLs (including the
odd numeric IPv4 spellings browsers accept) and the address policy for deployed stages."""
import ipaddress
import re
import urllib.parse
from dataclasses import dataclass

from .errors import InvalidInput

MAX_URL_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_EXAMPLE = "use an absolute URL like https://example.com/webhook"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str                       # lowercase ASCII name, or canonical IP text
    ip: object                      # ipaddress object when the host is an IP literal
    port: int
    host_header: str
    path: str                       # request target: path + query, ASCII


# ---------------------------------------------------------------- URL parsing

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0[xX][0-9a-fA-F]*)")


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
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        ip = _parse_ipv4_number(".".join(labels), field)
        return str(ip), ip
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _bad(field, f"host '{raw}' is not a valid domain name; use letters, digits, "
                          "hyphens and dots, e.g. hooks.example.com")
    return host, None


def parse(url, field):
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
    m = re.fullmatch(r"(\[[^\]]*\]|[^:\[\]]*)(?::([^:]*))?", netloc)
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
    return Target(scheme, host, ip, port, host_header, path)


# ------------------------------------------------------------ address policy

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_TEREDO = ipaddress.ip_network("2001::/32")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def why_forbidden(ip):
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
            inner = why_forbidden(embedded)
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
