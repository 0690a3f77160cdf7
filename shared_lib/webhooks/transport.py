"""Reaching a webhook receiver safely: one POST to the address that was checked.

Receivers on private, loopback, link-local or otherwise non-public addresses are refused
(server-side request forgery), at creation and again at each attempt, against the address
the connection then uses (no second DNS lookup to rebind); an IPv6 address that carries an
IPv4 one (mapped, compatible, translated, NAT64, 6to4) is judged by the IPv4 it reaches.
Redirects are not followed. A URL's non-ASCII characters are percent-encoded at creation;
control characters and spaces are refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from shared_lib import errors


class UnsafeUrl(errors.InvalidInput):
    code = "webhook_url_refused"


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to, if it carries one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in network for network in NAT64):
        return low
    high = int(ip) >> 32
    if high == 0 and int(ip) > 1:           # IPv4-compatible, ::a.b.c.d (not :: or ::1)
        return low
    if high == 0xFFFF0000:                  # IPv4-translated, ::ffff:0:a.b.c.d
        return low
    return None


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in SITE_LOCAL:
            return False
        ip = _embedded_ipv4(ip) or ip
    return ip.is_global and not ip.is_multicast


def normalize(url: str) -> str:
    """`url` with its non-ASCII characters percent-encoded; UnsafeUrl for control
    characters or spaces, which no receiver's URL has."""
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise UnsafeUrl("Webhook URLs may not contain spaces or control characters.")
    parts = urlsplit(url)
    try:
        host = parts.hostname.encode("idna").decode() if parts.hostname else ""
    except UnicodeError:
        raise UnsafeUrl("The webhook host is not a valid host name.") from None
    netloc = parts.netloc.replace(parts.hostname or "", host, 1) if host else parts.netloc
    keep = "/%:@!$&'()*+,;=-._~?#[]"
    return urlunsplit((parts.scheme, quote(netloc, safe=keep), quote(parts.path, safe=keep),
                       quote(parts.query, safe=keep), quote(parts.fragment, safe=keep)))


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def resolve(url: str, *, allow_private: bool) -> Target:
    """Where a webhook URL points, checked: http(s), no credentials, and (unless allowed) a
    public address. Raises UnsafeUrl with the reason."""
    try:
        parts = urlsplit(normalize(url))
        port = parts.port
    except ValueError:
        raise UnsafeUrl("The webhook URL is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("Webhook URLs are absolute http:// or https:// URLs.")
    if parts.username or parts.password:
        raise UnsafeUrl("Webhook URLs may not carry credentials; the signature authenticates.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"The webhook host {parts.hostname} does not resolve.") from None
    addresses = [str(info[4][0]) for info in found]
    if not allow_private and not all(_public(address) for address in addresses):
        raise UnsafeUrl("Webhook URLs must point to a public address, not a private, loopback "
                        "or link-local one.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _Pinned(http.client.HTTPConnection):
    """HTTP to the address `resolve` checked, with the URL's host in the Host header."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTls(http.client.HTTPSConnection):
    """HTTPS to the checked address; the certificate must still name the URL's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


def post(target: Target, headers: dict[str, str], body: bytes, *, timeout: float) -> Outcome:
    """One attempt; a 2xx is success, anything else (redirects included) a failure."""
    connection = (_PinnedTls if target.scheme == "https" else _Pinned)(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        ok = 200 <= response.status < 300
        return Outcome(ok, response.status, None if ok else f"the receiver answered {response.status}")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
