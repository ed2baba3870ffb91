"""The HTTP client for URLs callers and upstreams name: every request is judged by the policy
again where the connection is made, so a name that resolved to a public address when it was
accepted and resolves to an internal one now (DNS rebinding) is never connected to.

The guard sits in httpcore's network backend: it resolves the host itself, judges every
address, and opens the TCP connection to one of exactly those addresses. Everything above the
socket (the Host header, TLS SNI and certificate checks, connection pooling by origin) still
sees the URL's own host name. Each redirect hop is a request of its own through this transport,
so it is judged the same way; httpx follows at most `max_redirects` of them.
"""
from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore
import httpx

from shared.outbound_urls.policy import HostUnresolvable, OutboundUrlPolicy, url_host
from shared.tracing.http_spans import TracedAsyncClient

MAX_REDIRECTS = 5
MAX_URL_LENGTH = 4096  # upstreams' signed file URLs run long; what we accept from callers is shorter
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class CheckedAddressBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: OutboundUrlPolicy) -> None:
        self._policy = policy
        self._socket = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._policy.addresses(host)
        except HostUnresolvable as exc:
            raise httpcore.ConnectError(f"{host} {exc.reason}") from None
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._socket.connect_tcp(str(address), port, timeout=timeout,
                                                      local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # another of the host's checked addresses may answer
        assert failure is not None, "addresses() never answers an empty list"
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("outbound requests go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._socket.sleep(seconds)


class CheckedAddressTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (its request mapping and error translation) over a connection pool
    whose network backend is `CheckedAddressBackend`. httpx has no argument for a network backend
    yet (encode/httpx#3749), so the pool it built is replaced by an equivalent one."""

    def __init__(self, policy: OutboundUrlPolicy, max_url_length: int = MAX_URL_LENGTH,
                 limits: httpx.Limits = LIMITS,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False)
        self._max_url_length = max_url_length
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedAddressBackend(policy))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url_host(str(request.url), self._max_url_length)  # scheme, credentials, length: every hop
        return await super().handle_async_request(request)


def outbound_client(policy: OutboundUrlPolicy, *, timeout: float = 30.0, max_url_length: int = MAX_URL_LENGTH,
                    limits: httpx.Limits = LIMITS,
                    ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    """Refusals raise `OutboundUrlRefused` (not an httpx error): callers record them as such.
    `ssl_context`: the certificates trusted (default: httpx's, certifi's CA bundle).
    `trust_env=False`: proxies named in the environment would be mounted in place of this
    transport, and the guard would judge the proxy instead of the target."""
    return TracedAsyncClient(transport=CheckedAddressTransport(policy, max_url_length, limits, ssl_context),
                             timeout=timeout, max_redirects=MAX_REDIRECTS, trust_env=False)
