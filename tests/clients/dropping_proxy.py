"""A TCP proxy in front of the gateway that cuts its first connections: it forwards the request
whole, then, by default, waits for the first byte of the gateway's answer (the gateway has done
the work) and drops the connection instead of passing it on; with `after=b"..."` it passes the
answer on until that marker and a blank line after it went through (a stream's first event), then
drops it. Either way the client sees a dropped connection after its request took effect."""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class DroppingProxy:
    def __init__(self, target_url: str, drop_first: int = 1, after: bytes | None = None) -> None:
        target = urlsplit(target_url)
        self._target = (target.hostname, target.port)
        self._drops_left = drop_first
        self._after = after
        self.connections = 0
        self.dropped = 0
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> DroppingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        drop, self._drops_left = self._drops_left > 0, max(0, self._drops_left - 1)
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        pumps = [asyncio.create_task(self._pump(client_reader, upstream_writer)),
                 asyncio.create_task(self._answer(upstream_reader, client_writer, drop))]
        self._pumps.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        client_writer.transport.abort()
        upstream_writer.transport.abort()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drop: bool) -> None:
        if not drop:
            return await self._pump(reader, writer)
        if self._after is None:
            await reader.read(1)  # the gateway has answered: the task exists
        else:
            passed = b""
            while (at := passed.find(self._after)) < 0 or b"\n\n" not in passed[at:]:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                passed += chunk
                writer.write(chunk)
                await writer.drain()
        self.dropped += 1
