"""The SSRF guard: which URLs outbound webhooks may reach. No Flask, no database.

A URL must be http(s) and every address its host resolves to must be a public (global)
one: no loopback, private, link-local (169.254.169.254, the cloud metadata service), shared,
multicast or reserved address, IPv4-mapped IPv6 forms included. The check runs when an
endpoint is saved and again at each delivery, and the delivery connects to the very address
that was checked (transport.py), so a DNS answer that changes in between (DNS rebinding)
cannot redirect it. `allow_private` (WEBHOOK_ALLOW_PRIVATE_TARGETS) lifts the address rule,
for tests and internal systems.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


class RefusedTarget(ValueError):
    """The URL may not be used; the message says why, in words staff can act on."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # the checked addresses, in the resolver's order


def parse(url: str, *, require_https: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a well-formed http(s) URL, or RefusedTarget."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise RefusedTarget(f"Enter an http(s) URL of at most {MAX_URL_LENGTH} characters.")
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise RefusedTarget("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedTarget(f"That is not a valid URL ({error}).") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RefusedTarget("The URL must start with https:// (or http://).")
    if require_https and scheme != "https":
        raise RefusedTarget("The URL must use https:// in production.")
    if parts.username or parts.password:
        raise RefusedTarget("Put no user name or password in the URL.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise RefusedTarget("The URL needs a host name.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None and not mapped.is_global:
            return False
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedTarget(f"The host name {host!r} does not resolve ({error}).") from error
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    if not addresses:
        raise RefusedTarget(f"The host name {host!r} does not resolve.")
    return tuple(addresses)


def check(url: str, *, allow_private: bool, require_https: bool) -> Target:
    """The URL's target with its checked addresses, or RefusedTarget."""
    scheme, host, port, path = parse(url, require_https=require_https)
    addresses = resolve(host, port)
    if not allow_private:
        refused = [address for address in addresses if not is_public(address)]
        if refused:
            raise RefusedTarget(
                f"{host} resolves to {', '.join(refused)}, a loopback, private, link-local "
                "or otherwise internal address; webhooks may only reach public addresses."
            )
    return Target(scheme, host, port, path, addresses)
