"""The transport under the upstream clients (the gateway's and the poller's `http`): aiohttp's
connection pool and C-accelerated HTTP/1.1 parser beneath httpx's API, so every caller, every
test's `httpx.MockTransport` and the tracing client (`TracedAsyncClient`) stay as they are.

Why: httpx's own transport (httpcore over anyio, h11's parser in Python) spent about 0.9 ms of
CPU on each request to a local upstream, and this one about 0.1 ms (both against the same local
server, 8 concurrent, in one process); that was a quarter of the gateway's CPU per async submit
(py-spy).

httpx keeps doing what it does above a transport: redirects (none followed unless asked),
auth, cookies, decoding the body by its Content-Encoding (so aiohttp decodes nothing here) and
its timeouts, which arrive per request and are applied as aiohttp's connect and read timeouts.
aiohttp's failures are raised as the httpx exceptions the callers catch
(shared/upstream/custompass.py): a refused or failed connection as `ConnectError`, a connect
that timed out as `ConnectTimeout`, a read that did as `ReadTimeout`, a broken answer as
`RemoteProtocolError`. Certificates are checked as httpx checks them: against `SSL_CERT_FILE`
or `SSL_CERT_DIR` when set (a private CA), else certifi's bundle.
With an egress proxy set in the environment the upstream client keeps httpx's own transport
(`upstream_client`), since httpx applies those settings only to it.
One difference: a request whose kept-alive connection the upstream had closed is sent again once
on a new connection when its method is idempotent (GET, PUT, DELETE: RFC 9112 9.3.1, aiohttp's
rule); a POST, such as a submit, never is.
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import NoReturn

import aiohttp
import httpx

from shared.tracing.http_spans import TracedAsyncClient

# What aiohttp would add on its own: httpx has set what the request carries.
_NOT_ADDED = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 500, keepalive_s: float = 5.0) -> None:
        self._max_connections, self._keepalive_s = max_connections, keepalive_s
        self._ssl = httpx.create_ssl_context()  # httpx's own: SSL_CERT_FILE or SSL_CERT_DIR, else certifi
        self._session: aiohttp.ClientSession | None = None
        # Requests take turns here, first come first served, and hold their turn until their
        # answer is read or closed. aiohttp's own limit is not fair: a connection given back
        # goes to whichever request asks next, so under a full pool a waiting request can
        # starve until its pool timeout (seen: 60 s in the async bench, 32 connections).
        self._turns = asyncio.Semaphore(max_connections)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._turns.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no connection became free in time", request=request) from None
        try:
            answer = await self._open().request(
                request.method, str(request.url), headers=[(k.decode("latin-1"), v.decode("latin-1"))
                                                           for k, v in request.headers.raw],
                data=body or None, allow_redirects=False, ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeouts.get("connect"),
                                              sock_read=timeouts.get("read")))
        except BaseException as exc:
            self._turns.release()
            _raise_as_httpx(exc, request)
        return httpx.Response(answer.status, headers=list(answer.raw_headers),
                              stream=_Body(answer, request, self._turns.release),
                              extensions={"http_version": b"HTTP/1.1",
                                          "reason_phrase": (answer.reason or "").encode("latin-1")})

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running event loop, as aiohttp requires.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=self._keepalive_s)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=False,
                                                  cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=_NOT_ADDED)
        return self._session


class _Body(httpx.AsyncByteStream):
    """An answer's body as it arrives; closing it early closes its connection, reading it to the
    end gives the connection back to the pool."""

    def __init__(self, answer: aiohttp.ClientResponse, request: httpx.Request, done: Callable[[], None]) -> None:
        self._answer, self._request, self._done = answer, request, done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._answer.content.iter_any():
                yield chunk
        except BaseException as exc:
            _raise_as_httpx(exc, self._request)

    async def aclose(self) -> None:
        if self._answer.content.at_eof():
            self._answer.release()
        else:
            self._answer.close()
        done, self._done = self._done, None
        if done is not None:  # the request's turn, given back once
            done()


def _raise_as_httpx(exc: BaseException, request: httpx.Request) -> NoReturn:
    """Raises the httpx exception for an aiohttp failure, or the exception itself (a
    cancellation, a bug)."""
    translated = _as_httpx(exc, request) if isinstance(exc, Exception) else None
    if translated is None:
        raise exc
    raise translated from exc


def _as_httpx(exc: Exception, request: httpx.Request) -> httpx.TransportError | None:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "connect timed out", request=request)
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return httpx.ReadTimeout(str(exc) or "read timed out", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                        aiohttp.ClientResponseError)):
        return httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientError):
        return httpx.NetworkError(str(exc) or type(exc).__name__, request=request)
    return None

def upstream_client(max_connections: int) -> httpx.AsyncClient:
    """The client the channels' upstreams are reached with (their base URLs are set by admins;
    what callers and upstreams name is fetched by `shared.outbound_urls.outbound_client`).

    With an egress proxy set in the environment it is httpx's own transport, as before this
    module: httpx reads `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` only for a client
    without a transport of its own."""
    if any(os.environ.get(name) or os.environ.get(name.lower()) for name in _PROXY_VARIABLES):
        return TracedAsyncClient(limits=httpx.Limits(max_connections=max_connections))
    return TracedAsyncClient(transport=AiohttpTransport(max_connections=max_connections))


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
