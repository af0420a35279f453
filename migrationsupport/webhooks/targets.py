"""Where a webhook may be sent: never to this machine or the networks behind it (SSRF).

A target's host name is resolved and every address it gives must be public (``is_global``, not
multicast): loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
where cloud metadata services answer; fe80::/10), shared (100.64/10), reserved and unspecified
addresses are refused, IPv4-mapped IPv6 addresses judged by their IPv4 address. The check runs when
a subscription is saved and again before every attempt, and the attempt connects to the very
address that was checked (``delivery.send``), so a name that resolves elsewhere a second time (DNS
rebinding) gains nothing. ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` lifts the rule (a receiver on the
same network; the tests' receiver on loopback).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The target address may not receive webhooks; the message says why, for an officer."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the name in the URL, sent as Host and as the TLS server name
    port: int
    path: str  # path and query
    addresses: tuple[Address, ...]  # what ``host`` resolved to, all of them allowed


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"The host {host} cannot be resolved ({exc}).") from exc
    addresses: list[Address] = []
    for info in infos:
        # An IPv6 link-local address may carry its zone ("fe80::1%eth0").
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TargetRefused(f"The host {host} has no address.")
    return addresses


def check_target(url: str) -> Target:
    """The target ``url`` resolved and checked; ``TargetRefused`` when it may not be used."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("Only http and https addresses can receive webhooks.")
    if parts.username or parts.password:
        raise TargetRefused("The address may not carry a user name or password.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("The address has an invalid port.") from exc
    host = parts.hostname
    if not host:
        raise TargetRefused("The address has no host.")
    addresses = resolve(host, port)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        refused = [str(address) for address in addresses if not is_public(address)]
        if refused:
            raise TargetRefused(
                f"{host} resolves to an address that is not public ({', '.join(refused)}): "
                "loopback, private, link-local and reserved networks cannot receive webhooks."
            )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=tuple(addresses))
