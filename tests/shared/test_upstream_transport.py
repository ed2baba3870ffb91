"""shared/upstream/transport.py against a real local HTTP server over a real socket: what reaches
the wire is what httpx built (no header added or doubled), an answer is decoded once, streamed
as it arrives and kept on one connection, redirects are httpx's to follow, and every failure is
the httpx exception the upstream callers catch."""
from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from shared.upstream.transport import upstream_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A local server whose every connection is `handler`'s; it records each request's head."""

    def __init__(self, handler: Handler) -> None:
        self.handler, self.heads, self.connections = handler, [], 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer, self)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def request(self, reader: asyncio.StreamReader) -> tuple[list[tuple[str, str]], bytes]:
        """The next request on the connection: its header lines and its body."""
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")[:-2]
        self.heads.append(head)
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in head[1:]]
        length = sum(int(value) for name, value in headers if name.lower() == "content-length")
        return headers, await reader.readexactly(length) if length else b""


def answer(status: str, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with upstream_client(max_connections=10) as http:
        yield http


async def echo(reader, writer, server) -> None:
    while True:
        headers, body = await server.request(reader)
        writer.write(answer("200 OK", b"got:" + body, "Content-Type: text/plain", "X-Upstream: yes"))
        await writer.drain()


async def test_a_request_reaches_the_wire_as_httpx_built_it_and_its_answer_comes_back(client):
    async with Server(echo) as server:
        response = await client.post(f"{server.url}/v1/submit?a=1", content=b"{}", headers={"Authorization": "Bearer k"})
        assert (response.status_code, response.text, response.headers["x-upstream"]) == (200, "got:{}", "yes")
        assert response.http_version == "HTTP/1.1" and response.reason_phrase == "OK"
        request_line, *lines = server.heads[0]
        assert request_line == "POST /v1/submit?a=1 HTTP/1.1"
        headers = [(name.lower(), value.strip()) for name, value in (line.split(":", 1) for line in lines)]
        assert sorted(name for name, _ in headers) == sorted([
            "host", "accept", "accept-encoding", "connection", "user-agent", "content-length",
            "authorization"])  # httpx's, once each: no Content-Type added
        assert ("authorization", "Bearer k") in headers and ("content-length", "2") in headers


async def test_requests_one_after_another_share_one_connection(client):
    async with Server(echo) as server:
        for n in range(5):
            assert (await client.get(f"{server.url}/{n}")).text == "got:"
        assert server.connections == 1


async def test_a_compressed_answer_is_decoded_once(client):
    packed = gzip.compress(b'{"ok": true}')

    async def gzipped(reader, writer, server) -> None:
        await server.request(reader)
        writer.write(answer("200 OK", packed, "Content-Encoding: gzip", "Content-Type: application/json"))
        await writer.drain()

    async with Server(gzipped) as server:
        assert (await client.get(server.url)).json() == {"ok": True}


async def test_a_streamed_answer_arrives_as_it_is_sent(client):
    first_read = asyncio.Event()

    async def streaming(reader, writer, server) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n")
        writer.write(b"6\r\ndata 1\r\n")
        await writer.drain()
        await asyncio.wait_for(first_read.wait(), 10)  # the second part only once the first was read
        writer.write(b"6\r\ndata 2\r\n0\r\n\r\n")
        await writer.drain()

    async with Server(streaming) as server:
        async with client.stream("GET", server.url) as response:
            parts = []
            async for chunk in response.aiter_bytes():
                parts.append(chunk)
                first_read.set()
        assert b"".join(parts) == b"data 1data 2" and len(parts) == 2


async def test_a_redirect_is_answered_not_followed(client):
    async def redirecting(reader, writer, server) -> None:
        await server.request(reader)
        writer.write(answer("302 Found", b"", "Location: http://169.254.169.254/latest"))
        await writer.drain()

    async with Server(redirecting) as server:
        response = await client.get(server.url)
        assert (response.status_code, response.headers["location"]) == (302, "http://169.254.169.254/latest")
        assert len(server.heads) == 1


async def test_a_refused_connection_is_a_connect_error(client):
    async with Server(echo) as server:
        url = server.url
    with pytest.raises(httpx.ConnectError):
        await client.get(url)


async def test_an_upstream_that_never_answers_is_a_read_timeout(client):
    async def silent(reader, writer, server) -> None:
        await server.request(reader)
        await asyncio.sleep(30)

    async with Server(silent) as server:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url, timeout=httpx.Timeout(5.0, read=0.3))


async def test_an_answer_cut_short_is_a_protocol_error(client):
    async def cut(reader, writer, server) -> None:
        await server.request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        await writer.drain()

    async with Server(cut) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(server.url)


async def test_requests_waiting_for_a_connection_are_served_in_turn():
    """aiohttp alone hands a freed connection to whoever asks next, so a caller that asks again at
    once can keep it while the others starve; here each waits its turn."""
    async def slow_echo(reader, writer, server) -> None:
        while True:
            await server.request(reader)
            await asyncio.sleep(0.005)
            writer.write(answer("200 OK", b"ok"))
            await writer.drain()

    async with Server(slow_echo) as server, upstream_client(max_connections=1) as one_connection:
        async def caller(name: str) -> None:
            for n in range(4):
                await one_connection.get(f"{server.url}/{name}/{n}")

        await asyncio.gather(*(caller(f"c{k}") for k in range(6)))
    served = [head[0].split()[1] for head in server.heads]
    first_rounds = served[:12]  # with turns kept, every caller's first two requests come first
    assert sorted(first_rounds) == sorted(f"/c{k}/{n}" for k in range(6) for n in range(2)), served


async def test_a_request_that_finds_no_free_connection_in_time_is_a_pool_timeout():
    held = asyncio.Event()

    async def holding(reader, writer, server) -> None:
        await server.request(reader)
        held.set()
        await asyncio.sleep(30)

    async with Server(holding) as server, upstream_client(max_connections=1) as one_connection:
        first = asyncio.create_task(one_connection.get(server.url, timeout=30))
        await asyncio.wait_for(held.wait(), 10)
        with pytest.raises(httpx.PoolTimeout):
            await one_connection.get(server.url, timeout=httpx.Timeout(30, pool=0.2))
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)


def _self_signed(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no public bundle trusts, and its key (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "private upstream")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "upstream.pem", directory / "upstream.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


async def test_an_upstream_behind_a_private_ca_is_trusted_only_as_ssl_cert_file_says(tmp_path, monkeypatch):
    """As with httpx's own transport: certifi's bundle, unless SSL_CERT_FILE names another."""
    import ssl

    cert_file, key_file = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)

    async def once(reader, writer) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer("200 OK", b"private"))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(once, "127.0.0.1", 0, ssl=tls)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        async with upstream_client(max_connections=2) as public_only:
            with pytest.raises(httpx.ConnectError):
                await public_only.get(url)
        monkeypatch.setenv("SSL_CERT_FILE", cert_file)
        async with upstream_client(max_connections=2) as trusting:
            assert (await trusting.get(url)).text == "private"
    finally:
        server.close()


async def test_an_egress_proxy_from_the_environment_is_used_as_httpx_uses_it(monkeypatch):
    async def proxy(reader, writer, server) -> None:
        await server.request(reader)
        writer.write(answer("200 OK", b"via the proxy"))
        await writer.drain()

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    async with Server(proxy) as server:
        monkeypatch.setenv("HTTP_PROXY", server.url)
        async with upstream_client(max_connections=2) as proxied:
            assert (await proxied.get("http://upstream.invalid/v1/query")).text == "via the proxy"
        assert server.heads[0][0] == "GET http://upstream.invalid/v1/query HTTP/1.1"  # asked of the proxy
