"""Reaching a webhook receiver safely: one POST to the address that was checked.

Receivers on private, loopback, link-local or otherwise non-public addresses are refused
(server-side request forgery), at creation and again at each attempt, against the address
the connection then uses (no second DNS lookup to rebind); an IPv6 address that carries an
IPv4 one (mapped, compatible, translated, NAT64, 6to4) is judged by the IPv4 it reaches.
Redirects are not followed. A URL's non-ASCII characters are percent-encoded at creation;
control characters and spaces are refused.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from shared_lib import errors

if TYPE_CHECKING:
    import httpx


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


@dataclass
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


def _pinned_url(target: Target) -> str:
    """The URL to the checked address itself: no second lookup, no rebinding."""
    address = f"[{target.address}]" if ":" in target.address else target.address
    return f"{target.scheme}://{address}:{target.port}{target.path}"


def post(target: Target, headers: dict[str, str], body: bytes, *, timeout: float,
         client: httpx.Client | None = None) -> Outcome:
    """One attempt to the checked address, with the URL's host in the Host header and, over
    TLS, as the SNI name the certificate must match; a 2xx is success, anything else
    (redirects included) a failure. At most 64 KiB of the answer is read."""
    import httpx

    from shared_lib import outbound

    default_port = target.port == (443 if target.scheme == "https" else 80)
    host = target.host if default_port else f"{target.host}:{target.port}"
    # Connection: close, so that no pooled connection checked for one host name is ever
    # reused for another that resolves to the same address.
    request = (client or outbound.client()).build_request(
        "POST", _pinned_url(target), content=body,
        headers={**headers, "Host": host, "Connection": "close"},
        timeout=timeout, extensions={"sni_hostname": target.host})
    try:
        response = (client or outbound.client()).send(request, stream=True)
        try:
            read = 0
            for chunk in response.iter_bytes():
                read += len(chunk)
                if read >= 64 * 1024:
                    break
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    ok = 200 <= response.status_code < 300
    return Outcome(ok, response.status_code,
                   None if ok else f"the receiver answered {response.status_code}")
