"""The relays a buyer would otherwise put in front of the same upstream, started for one run:
nginx (Debian's package: a plain `proxy_pass`, the floor for one relay hop) and the LiteLLM proxy
(PyPI, in its own virtualenv: a pass-through endpoint with key auth, the Python peer).

Both check a client key like CustomPass does and swap it for the upstream's key. Each runs one
worker process, as one CustomPass gateway process does, so the comparison is per process.
`make bench` installs them (nginx with apt, LiteLLM into .tools/litellm)."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools import devinfra

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
LITELLM = ROOT / ".tools" / "litellm" / "bin" / "litellm"
RELAY_PATH = "/relay"  # what clients call on either relay; it forwards to the one model path


@dataclass
class Relay:
    name: str
    url: str  # the full URL clients POST to
    key: str  # the client key the relay accepts
    pid: int


def missing() -> list[str]:
    """Relays that are not installed, with the command that installs them."""
    gaps = []
    if not Path(NGINX).exists():
        gaps.append("nginx (apt-get install nginx)")
    if not LITELLM.exists():
        gaps.append("litellm (make bench installs it into .tools/litellm)")
    return gaps


@contextlib.contextmanager
def nginx(target: str, upstream_key: str, workdir: Path) -> Iterator[Relay]:
    """`target`: the upstream's full URL for the model, e.g. http://127.0.0.1:9100/model."""
    port, key = devinfra.free_port(), "nginx-client-key"
    workdir.mkdir(parents=True, exist_ok=True)
    host_port = target.split("://", 1)[1].split("/", 1)[0]
    path = "/" + target.split("://", 1)[1].split("/", 1)[1]
    conf = workdir / "nginx.conf"
    conf.write_text(textwrap.dedent(f"""\
        worker_processes 1;
        daemon off;
        pid {workdir}/nginx.pid;
        error_log {workdir}/error.log warn;
        events {{ worker_connections 4096; }}
        http {{
            access_log off;
            client_body_temp_path {workdir}/body;
            proxy_temp_path {workdir}/proxy;
            fastcgi_temp_path {workdir}/fastcgi;
            uwsgi_temp_path {workdir}/uwsgi;
            scgi_temp_path {workdir}/scgi;
            upstream mock {{ server {host_port}; keepalive 64; }}
            server {{
                listen 127.0.0.1:{port};
                location = {RELAY_PATH} {{
                    if ($http_authorization != "Bearer {key}") {{ return 401; }}
                    proxy_pass http://mock{path};
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Authorization "Bearer {upstream_key}";
                }}
            }}
        }}
        """))
    with _process("nginx", [NGINX, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log")],
                  workdir, port) as pid:
        yield Relay("nginx", f"http://127.0.0.1:{port}{RELAY_PATH}", key, pid)


@contextlib.contextmanager
def litellm(target: str, upstream_key: str, workdir: Path) -> Iterator[Relay]:
    port, key = devinfra.free_port(), "sk-bench-litellm-client-key"
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "litellm.yaml"
    # The master key is the client key: no database, so LiteLLM checks it in memory, as
    # CustomPass checks its keys against a cache.
    conf.write_text(textwrap.dedent(f"""\
        general_settings:
          master_key: {key}
          pass_through_endpoints:
            - path: "{RELAY_PATH}"
              target: "{target}"
              headers:
                Authorization: "Bearer {upstream_key}"
              auth: true
        """))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR",
           "LITELLM_TELEMETRY": "False", "DISABLE_SCHEMA_UPDATE": "True"}
    env.pop("DATABASE_URL", None)
    command = [str(LITELLM), "--config", str(conf), "--host", "127.0.0.1", "--port", str(port),
               "--num_workers", "1"]
    with _process("litellm", command, workdir, port, env=env, start_timeout=120) as pid:
        yield Relay("litellm", f"http://127.0.0.1:{port}{RELAY_PATH}", key, pid)


@contextlib.contextmanager
def _process(name: str, command: list[str], workdir: Path, port: int, *, env: dict[str, str] | None = None,
             start_timeout: float = 30.0) -> Iterator[int]:
    log = (workdir / f"{name}.log").open("wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_listening(proc, port, start_timeout, workdir / f"{name}.log")
        yield proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def _wait_listening(proc: subprocess.Popen, port: int, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{proc.args[0]} not listening on {port} after {timeout:.0f}s: {log.read_text()[-2000:]}")


def nginx_version() -> str:
    try:
        return subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    except OSError:
        return "not installed"


def litellm_version() -> str:
    found = sorted(LITELLM.parent.parent.glob("lib/python*/site-packages/litellm-*.dist-info"))
    return found[-1].name.removeprefix("litellm-").removesuffix(".dist-info") if found else "not installed"
