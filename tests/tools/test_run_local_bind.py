"""`make run` prints an admin token, so what it starts listens on loopback only unless
CUSTOMPASS_BIND_HOST says otherwise."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import uvicorn

from services.billing.settings import BillingSettings
from shared import service_main
from tests.tools.test_run_local import NOT_INHERITED, PORT_VARS, RunLocal, free_ports
from tools.run_local import ROOT

SERVICE_PORT_VARS = ("GATEWAY_PORT", "BILLING_PORT", "POLLER_PORT", "SETTLEMENT_PORT", "MOCK_UPSTREAM_PORT")
LISTEN = "0A"  # the TCP state in /proc/net/tcp


def listening_addresses(port: int) -> set[str]:
    """The local addresses a socket listens on `port` at, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == LISTEN and int(hex_port, 16) == port:
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(int(hex_address[i:i + 2], 16)) for i in (6, 4, 2, 0))
    return "::" if set(hex_address) == {"0"} else hex_address


def test_make_run_listens_on_loopback_only(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED and k != "CUSTOMPASS_BIND_HOST"}
    env.update({var: str(port) for var, port in zip(PORT_VARS, free_ports(len(PORT_VARS)))})
    env["CUSTOMPASS_RUN_DIR"] = str(tmp_path / "run")
    run = RunLocal(env)
    try:
        run.ready_block()
        bound = {var: listening_addresses(int(env[var])) for var in SERVICE_PORT_VARS}
        assert bound == {var: {"127.0.0.1"} for var in SERVICE_PORT_VARS}
        assert run.interrupt() == 0, "".join(run.output)
    finally:
        if run.proc.poll() is None:
            run.interrupt()
        subprocess.run([sys.executable, "-m", "tools.run_local", "--stop"], cwd=ROOT, env=env, check=False)


def test_services_listen_where_custompass_bind_host_says(monkeypatch) -> None:
    hosts = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, **_: hosts.append(host))
    monkeypatch.setattr(service_main, "configure_logging", lambda *_: None)  # keep pytest's own handlers
    for value in (None, "0.0.0.0"):
        if value is None:
            monkeypatch.delenv("CUSTOMPASS_BIND_HOST", raising=False)
        else:
            monkeypatch.setenv("CUSTOMPASS_BIND_HOST", value)
        service_main.run_service("billing", BillingSettings, lambda settings: None, lambda settings: 1)
    assert hosts == ["127.0.0.1", "0.0.0.0"]


def test_idle_connections_outlive_the_clients_idle_timeouts(monkeypatch) -> None:
    """uvicorn's own 5 s equals httpx's idle expiry: a request sent as the server closed an idle
    connection failed with no answer (seen in the suite after a 6 s pause between two requests)."""
    kept = []
    monkeypatch.setattr(uvicorn, "run", lambda app, timeout_keep_alive, **_: kept.append(timeout_keep_alive))
    monkeypatch.setattr(service_main, "configure_logging", lambda *_: None)
    monkeypatch.delenv("HTTP_KEEPALIVE_S", raising=False)
    service_main.run_service("billing", BillingSettings, lambda settings: None, lambda settings: 1)
    monkeypatch.setenv("HTTP_KEEPALIVE_S", "10")
    service_main.run_service("billing", BillingSettings, lambda settings: None, lambda settings: 1)
    assert kept == [75, 10] and kept[0] > httpx.Limits().keepalive_expiry
