"""The outbound-URL policy (`shared.outbound_urls`): which URLs pass when accepted, and the client
that judges the address again at connect time, so a name that rebinds to loopback, or a
redirect to it, is never reached. Real sockets on 127.0.0.1; names are answered by a test
resolver."""
from __future__ import annotations

import ipaddress
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from shared.outbound_urls import AllowList, OutboundUrlPolicy, OutboundUrlRefused, outbound_client
from shared.outbound_urls.policy import HostUnresolvable, is_public
from shared.settings import CommonSettings

LOOPBACK_AND_INTERNAL = [
    "http://127.0.0.1/", "http://127.0.0.2:8080/", "http://[::1]/", "http://10.0.0.7/", "http://172.16.0.1/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/",  # shared (CGNAT)
    "http://0.0.0.0/", "http://[::]/", "http://224.0.0.1/", "http://[ff02::1]/", "http://240.0.0.1/",
    "http://255.255.255.255/", "http://192.0.0.8/", "http://198.18.0.1/", "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/", "http://[fc00::1]/", "http://[fec0::1]/", "http://[2001:db8::1]/",
    # IPv4 spelled as one number, in hex, in octal, shortened: all 127.0.0.1 (0: 0.0.0.0)
    "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/", "http://0x7f.1/", "http://0/",
    # IPv6 forms that deliver to an IPv4 address are judged by it
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/",  # IPv4-mapped
    "http://[::127.0.0.1]/", "http://[::a9fe:a9fe]/",  # IPv4-compatible
    "http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b:1::808:808]/",  # NAT64
    "http://[2002:7f00:1::]/", "http://[2002:a00:1::1]/",  # 6to4
    "http://[2001:0:808:808::80ff:fffe]/",  # Teredo, client 127.0.0.1 (stored inverted)
]
PUBLIC = ["https://8.8.8.8/a.png?size=large", "http://[2001:4860:4860::8888]/", "http://[::ffff:8.8.8.8]/",
          "http://[64:ff9b::808:808]/", "http://[2002:808:808::]/", "http://[2001:0:808:808::f7f7:fbfb]/",
          "https://public.test/hooks/done"]
MALFORMED = ["ftp://8.8.8.8/a.png", "file:///etc/passwd", "gopher://8.8.8.8:70/_", "javascript:alert(1)",
             "8.8.8.8/a.png", "http:///a.png", "http://user:secret@8.8.8.8/", "http://:secret@8.8.8.8/",
             "http://8.8.8.8:99999/", "http://[::1/", "http://8.8.8.8/a b", "http://8.8.8.8/\r\nX-Injected: 1",
             "https://8.8.8.8/" + "a" * 2048]


def resolver(answers: dict[str, list[str]], calls: list[str] | None = None):
    """Answers names from `answers`; a list of lists is answered in turn (the last one repeats)."""
    async def resolve(host: str):
        if calls is not None:
            calls.append(host)
        found = answers.get(host)
        if found is None:
            raise HostUnresolvable()
        if found and isinstance(found[0], list):
            found = found.pop(0) if len(found) > 1 else found[0]
        return [ipaddress.ip_address(a) for a in found]
    return resolve


NAMES = {"public.test": ["8.8.8.8", "2001:4860:4860::8888"], "mixed.test": ["8.8.8.8", "10.0.0.1"],
         "metadata.test": ["169.254.169.254"]}


def policy(allow: str = "", answers: dict | None = None, calls: list | None = None) -> OutboundUrlPolicy:
    return OutboundUrlPolicy(AllowList(allow), resolver({**NAMES, **(answers or {})}, calls))


@pytest.mark.parametrize("url", LOOPBACK_AND_INTERNAL + MALFORMED)
async def test_internal_and_malformed_urls_are_refused(url):
    with pytest.raises(OutboundUrlRefused):
        await policy().check(url, 2048)


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_urls_pass(url):
    await policy().check(url, 2048)


@pytest.mark.parametrize("host", ["mixed.test", "metadata.test", "unknown.test"])
async def test_a_name_with_any_internal_or_no_address_is_refused(host):
    with pytest.raises(OutboundUrlRefused):
        await policy().check(f"http://{host}/", 2048)


async def test_names_go_through_the_system_resolver_by_default():
    with pytest.raises(OutboundUrlRefused, match="private, loopback or reserved"):
        await OutboundUrlPolicy.from_setting("").check("http://localhost:6379/", 2048)


def test_embedded_ipv4_decides_for_the_ipv6_forms_that_carry_one():
    assert not is_public(ipaddress.ip_address("64:ff9b::a00:1"))  # NAT64 of 10.0.0.1
    assert is_public(ipaddress.ip_address("64:ff9b::808:808"))  # NAT64 of 8.8.8.8
    assert not is_public(ipaddress.ip_address("2001:0:808:808::f5ff:fffe"))  # Teredo client 10.0.0.1
    assert not is_public(ipaddress.ip_address("2001:0:a00:1::f7f7:fbfb"))  # Teredo server 10.0.0.1


async def test_the_allow_list_admits_named_hosts_and_networks_only():
    allow = policy("images.internal, 10.1.0.0/16, fd00:1::/32")
    await allow.check("http://images.internal/a.png", 2048)  # by name, not resolved
    await allow.check("http://10.1.2.3/a.png", 2048)
    await allow.check("http://[fd00:1::5]/a.png", 2048)
    for url in ("http://10.2.0.1/a.png", "http://127.0.0.1/a.png", "http://[fd00:2::5]/",
                "http://user:pw@images.internal/"):
        with pytest.raises(OutboundUrlRefused):
            await allow.check(url, 2048)


def test_the_allow_list_setting_keeps_its_former_name(monkeypatch):
    monkeypatch.delenv("OUTBOUND_URL_ALLOWLIST", raising=False)
    monkeypatch.setenv("INPUT_IMAGE_URL_ALLOWLIST", "images.internal")
    assert CommonSettings().outbound_url_allowlist == "images.internal"
    monkeypatch.setenv("OUTBOUND_URL_ALLOWLIST", "10.0.0.0/8")
    assert CommonSettings().outbound_url_allowlist == "10.0.0.0/8"


class _Target(BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).hits.append((self.path, self.headers["Host"]))
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/redirect?to="))
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def target() -> Iterator[tuple[int, list]]:
    """An HTTP server on 127.0.0.1 that records what reached it."""
    _Target.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], _Target.hits
    server.shutdown()
    server.server_close()


async def test_a_name_that_rebinds_to_loopback_after_acceptance_is_never_connected_to(target):
    port, hits = target
    rebinding = policy(answers={"rebind.test": [["8.8.8.8"], ["127.0.0.1"]]})
    url = f"http://rebind.test:{port}/hooks/done"
    await rebinding.check(url, 2048)  # accepted: it resolved to a public address then
    async with outbound_client(rebinding) as client:
        with pytest.raises(OutboundUrlRefused, match="127.0.0.1"):
            await client.post(url, content=b"{}")
    assert hits == []


async def test_the_connection_goes_to_the_address_judged_under_the_urls_own_host(target):
    port, hits = target
    calls: list[str] = []
    # A resolver asked twice would answer 127.0.0.2 (not allowed) the second time: one lookup only.
    pinned = policy("127.0.0.1/32", answers={"files.test": [["127.0.0.1"], ["127.0.0.2"]]}, calls=calls)
    async with outbound_client(pinned) as client:
        response = await client.get(f"http://files.test:{port}/a.png")
    assert response.status_code == 200
    assert calls == ["files.test"] and hits == [("/a.png", f"files.test:{port}")]


async def test_a_redirect_to_loopback_is_not_followed(target):
    port, hits = target
    allowed = policy("files.test", answers={"files.test": ["127.0.0.1"]})
    async with outbound_client(allowed) as client:
        ok = await client.get(f"http://files.test:{port}/redirect?to=/b.png", follow_redirects=True)
        assert ok.status_code == 200  # a redirect to a URL that passes is followed
        for inside in (f"http://127.0.0.1:{port}/secret", f"http://2130706433:{port}/secret"):
            with pytest.raises(OutboundUrlRefused):
                await client.get(f"http://files.test:{port}/redirect?to={inside}", follow_redirects=True)
    assert [path for path, _ in hits if "secret" in path and not path.startswith("/redirect")] == []


async def test_every_request_is_judged_for_scheme_credentials_and_length(target):
    port, hits = target
    allowed = policy("files.test", answers={"files.test": ["127.0.0.1"]})
    async with outbound_client(allowed, max_url_length=64) as client:
        for url in (f"http://user:pw@files.test:{port}/", f"http://files.test:{port}/" + "a" * 64):
            with pytest.raises(OutboundUrlRefused):
                await client.get(url)
    assert hits == []


@pytest.fixture
def tls_target(tmp_path) -> Iterator[tuple[int, ssl.SSLContext, list]]:
    """An HTTPS server on 127.0.0.1 with a certificate for files.test only; records the SNI it got."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=files.test",
                    "-addext", "subjectAltName=DNS:files.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    names: list = []
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    server_side.sni_callback = lambda sock, name, context: names.append(name)
    _Target.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    server.socket = server_side.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], ssl.create_default_context(cafile=str(cert)), names
    server.shutdown()
    server.server_close()


async def test_https_to_the_checked_address_keeps_the_urls_host_for_sni_and_the_certificate(tls_target):
    port, trusted, names = tls_target
    pinned = policy("127.0.0.1/32", answers={"files.test": ["127.0.0.1"]})
    async with outbound_client(pinned, ssl_context=trusted) as client:
        assert (await client.get(f"https://files.test:{port}/a.png")).status_code == 200
        with pytest.raises(httpx.ConnectError, match="certificate"):  # the certificate names files.test only
            await client.get(f"https://127.0.0.1:{port}/a.png")
    assert names[0] == "files.test"


async def test_a_host_that_does_not_resolve_at_connect_time_is_a_connection_failure_to_retry():
    async with outbound_client(policy()) as client:
        with pytest.raises(httpx.ConnectError, match="does not resolve"):
            await client.get("http://unknown.test/")
