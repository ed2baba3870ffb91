"""Small HTTP servers on two loopback addresses: 127.0.0.1, which the test stack's outbound-URL
allow-list admits, and 127.0.0.2, which the policy refuses."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALLOWED, REFUSED = "127.0.0.1", "127.0.0.2"


@contextlib.contextmanager
def on_both_loopbacks(handler: type[BaseHTTPRequestHandler]) -> Iterator[dict[str, str]]:
    """The base URL of a server running `handler` on each address, by address."""
    servers = [ThreadingHTTPServer((host, 0), handler) for host in (ALLOWED, REFUSED)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {s.server_address[0]: f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
