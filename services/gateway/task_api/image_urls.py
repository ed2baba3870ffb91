"""`inputImageUrl` goes to upstreams, which fetch it: the gateway must not let a caller point
them at internal addresses. A URL is accepted when it is http(s), not too long, carries no
credentials, and its host resolves only to public addresses, or is in the allow-list
(`INPUT_IMAGE_URL_ALLOWLIST`: host names, or networks such as 10.0.0.0/8).

Resolution goes through the system resolver, which also reads the numeric spellings of IPv4
(`2130706433`, `0x7f000001`, `127.1`), so those are judged by the address they name. A name
that resolves differently when the upstream fetches it (DNS rebinding) is beyond what a check
here can see; an upstream fetching untrusted URLs should apply its own egress rules too.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from services.gateway.errors import InvalidRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
RESOLVE_TIMEOUT_S = 3.0


class AllowList:
    def __init__(self, setting: str) -> None:
        self.hosts: set[str] = set()
        self.networks: list[Network] = []
        for entry in (e.strip().lower() for e in setting.split(",")):
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry)

    def admits(self, address: Address) -> bool:
        return any(address in network for network in self.networks if network.version == address.version)


def is_public(address: Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:10.0.0.1 is 10.0.0.1
    if mapped is not None:
        return is_public(mapped)
    return address.is_global and not address.is_multicast


async def check_image_url(url: str, max_length: int, allow: AllowList) -> None:
    if len(url) > max_length:
        raise _refused(f"is longer than {max_length} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise _refused("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise _refused("must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise _refused("must not carry credentials")
    if host.rstrip(".") in allow.hosts:
        return
    for address in await _resolve(host):
        if not (is_public(address) or allow.admits(address)):
            raise _refused("points to a private, loopback or reserved address")


async def _resolve(host: str) -> list[Address]:
    try:
        found = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S)
    except (OSError, UnicodeError, asyncio.TimeoutError):
        raise _refused("names a host that does not resolve") from None
    return [ipaddress.ip_address(info[4][0].partition("%")[0]) for info in found]


def _refused(why: str) -> InvalidRequest:
    return InvalidRequest(f"inputImageUrl {why}", code="invalid_image_url")
