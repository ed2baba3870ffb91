"""Which URLs a caller or an upstream may make us (or an upstream) fetch or post to: http(s),
with a host, without credentials, not too long, and every address the host resolves to public,
unless the operator's allow-list admits the host by name or the address by network
(`OUTBOUND_URL_ALLOWLIST`). The same judgement runs when a URL is accepted and again, in
`transport`, on the address actually connected to.

An IPv6 address that carries an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4,
Teredo) reaches that IPv4 address, so it is judged by it; numeric IPv4 spellings
(`2130706433`, `0x7f000001`, `127.1`) are judged by the address they name.
"""
from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Awaitable[list[Address]]]

RESOLVE_TIMEOUT_S = 3.0
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Not globally reachable (IANA's special-purpose registries) although this Python's is_global
# says they are: protocol assignments, local-use NAT64, SRv6 SIDs, the newer documentation block.
NOT_GLOBAL = [ipaddress.ip_network(n) for n in ("192.0.0.0/24", "64:ff9b:1::/48", "5f00::/16", "3fff::/20")]
# What inet_aton may read as an IPv4 address: digits, dots and hex (`0x7f.1`), nothing else.
_NUMERIC_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class OutboundUrlRefused(Exception):
    """`reason` completes a sentence about the URL: "points to a loopback ... address"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HostUnresolvable(OutboundUrlRefused):
    """No address now: a refusal when a URL is accepted, a connection failure (retried like any
    other) when a delivery connects, since DNS failures are often passing."""

    def __init__(self) -> None:
        super().__init__("names a host that does not resolve")


class AllowList:
    """Comma-separated host names (admitted whatever they resolve to) and networks in CIDR form."""

    def __init__(self, setting: str) -> None:
        self.hosts: set[str] = set()
        self.networks: list[Network] = []
        for entry in (e.strip().lower() for e in setting.split(",")):
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.rstrip("."))

    def admits_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def admits(self, address: Address) -> bool:
        return any(address in network for network in self.networks if network.version == address.version)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address delivers to (empty for a plain IPv6 address)."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)  # (server, client): either may be reached
    if address in NAT64 or address in IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)]
    return []


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False  # fe80::1%eth0: link-scoped by construction
        carried = embedded_ipv4(address)
        if carried:
            return all(is_public(v4) for v4 in carried)
        if address.is_site_local:  # fec0::/10, deprecated but still routed inside some sites
            return False
    if any(address in network for network in NOT_GLOBAL if network.version == address.version):
        return False
    # is_global alone differs between Python versions for multicast and reserved ranges: name them.
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_loopback
                                      or address.is_link_local or address.is_unspecified or address.is_private)


def literal_address(host: str) -> Address | None:
    """The address a host spells out itself (any IPv4 spelling inet_aton reads, or IPv6), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if _NUMERIC_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def url_host(url: str, max_length: int) -> str:
    """The host of an acceptable-looking URL (scheme, host, no credentials, length); refuses otherwise."""
    if len(url) > max_length:
        raise OutboundUrlRefused(f"is longer than {max_length} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise OutboundUrlRefused("contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise OutboundUrlRefused("is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise OutboundUrlRefused("must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise OutboundUrlRefused("must not carry credentials")
    return host


async def system_resolver(host: str) -> list[Address]:
    try:
        found = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S)
    except (OSError, UnicodeError, asyncio.TimeoutError):
        raise HostUnresolvable() from None
    return [ipaddress.ip_address(info[4][0]) for info in found]  # a link-local answer keeps its %zone


class OutboundUrlPolicy:
    def __init__(self, allow: AllowList, resolver: Resolver = system_resolver) -> None:
        self.allow, self._resolver = allow, resolver

    @classmethod
    def from_setting(cls, allowlist: str) -> "OutboundUrlPolicy":
        return cls(AllowList(allowlist))

    async def check(self, url: str, max_length: int) -> None:
        """At acceptance: refuses (`OutboundUrlRefused`) a URL that would not pass at connect time."""
        host = url_host(url, max_length)
        if not self.allow.admits_host(host):
            await self.addresses(host)

    async def addresses(self, host: str) -> list[Address]:
        """Where `host` may be reached: all of its addresses, each public or allow-listed; refuses
        the host when any is neither (a name answering one internal address among public ones
        would be reached there sooner or later)."""
        literal = literal_address(host)
        found = [literal] if literal is not None else await self._resolver(host)
        if not found:
            raise HostUnresolvable()
        if self.allow.admits_host(host):
            return found
        for address in found:
            if not (is_public(address) or self.allow.admits(address)):
                raise OutboundUrlRefused(f"points to a private, loopback or reserved address ({address})")
        return found
