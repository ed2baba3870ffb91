"""`make run` end to end: `python -m tools.run_local` starts Kafka, MongoDB, every service and the
mock upstream, seeds the demo, prints how to use it (commands that work pasted into bash, offline),
and stops everything on SIGINT; a second start on the same run folder reuses what the first one
seeded, and keeps the first one's logs."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tools import devinfra
from tools.run_local import DEMO_QUOTA, PASTE_LINE, READY_LINE, ROOT, port_free

PORT_VARS = ("GATEWAY_PORT", "BILLING_PORT", "POLLER_PORT", "SETTLEMENT_PORT", "MOCK_UPSTREAM_PORT",
             "LOCAL_KAFKA_PORT", "LOCAL_MONGO_PORT")
# Set by a developer or CI for other tests; here the stand-ins and a generated token are the point.
NOT_INHERITED = ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "CUSTOMPASS_ADMIN_TOKEN", "MONGODB_DATABASE",
                 "CALLBACK_SIGNING_SECRET", "TASK_RECEIPT_SIGNING_KEY", "USER_REF_SECRET",
                 "KAFKA_TOPIC_PREFIX", *PORT_VARS)


class RunLocal:
    """One `python -m tools.run_local` and what it printed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.run_local"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ready_block(self, timeout: float = 180.0) -> dict[str, str]:
        """The `Name: value` fields of the printed block, once its last line (the admin curl) is out."""
        deadline, fields = time.monotonic() + timeout, {}
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no ready block after {timeout}s:\n{''.join(self.output)}") from None
            if line is None:
                raise AssertionError(f"run_local exited with {self.proc.wait()}:\n{''.join(self.output)}")
            self.output.append(line)
            if match := re.match(r"\s+([A-Za-z ]+):\s+(\S+)", line):
                fields[match[1]] = match[2]
            last_command = line.lstrip().startswith("curl") and "/admin/users/" in line  # the admin's wallet
            if READY_LINE in "".join(self.output) and last_command:
                return fields

    def pasted_commands(self) -> str:
        """The printed lines to paste into bash, as a user copies them (indentation and all)."""
        printed = "".join(self.output)
        return printed[printed.index(PASTE_LINE) + len(PASTE_LINE):].strip("\n") + "\n"

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


async def worker_hello(gateway: str, token: str) -> dict:
    """What the demo worker token's socket hears first on the demo group."""
    async with connect(f"{gateway.replace('http://', 'ws://')}/ws?group=default&token={token}") as socket:
        return json.loads(await socket.recv())


def recorded_pids(run_dir: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text().split()[0]) for p in (run_dir / "pids").glob("*.pid")}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")  # a zombie answers kill(pid, 0) but is gone
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(devinfra.free_port())
    return sorted(ports)


def run_pasted(commands: str, env: dict[str, str]) -> str:
    """Runs `commands` in one bash, as pasted, stopping at the first that fails (curl --fail-with-body
    fails on a 4xx/5xx answer): returns what they printed. Its own session, so a background job a
    failed paste leaves behind (the example worker) is stopped with it."""
    bash = subprocess.Popen(["bash", "-c", "set -euo pipefail\n" + commands], cwd="/", env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = bash.communicate(timeout=90)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(bash.pid, signal.SIGKILL)
    assert bash.returncode == 0, f"a pasted command failed:\n{commands}\n--- output ---\n{output}"
    return output


def assert_pasted_commands_answer(run: RunLocal, env: dict[str, str]) -> None:
    """Every printed command, pasted into bash from any folder, answers 2xx: the submit and the
    fetch of its $TASK, the worker round trip, the typed task on the sample image and its state."""
    commands = run.pasted_commands()
    assert "<" not in commands.replace("<not", ""), commands  # no placeholder left to replace by hand
    output = run_pasted(commands, env)
    task = output.split("\n", 1)[0]  # `echo $TASK`: the id the submit answered
    assert task.startswith("task_") and f'"task_id":"{task}"' in output, output  # and its fetch
    assert '"inputImageUrl":"http://127.0.0.1' in output.replace(" ", ""), output
    sample = httpx.get(re.search(r"Sample image:\s+(\S+)", "".join(run.output))[1])
    assert sample.status_code == 200 and sample.content.startswith(b"\x89PNG"), sample


def start_seeded_and_stop(env: dict[str, str], run_dir: Path, paste: bool = False) -> dict[str, str]:
    """One run: checks the printed credentials (and, with `paste`, the printed commands) work,
    interrupts it, checks nothing is left."""
    run = RunLocal(env)
    try:
        block = run.ready_block()
        # MongoDB migrated before the services started: all on the first run, none on the next.
        assert ("applied 0001_initial_indexes" if paste else "nothing pending") in "".join(run.output)
        gateway = block["Gateway"]
        assert gateway == f"http://127.0.0.1:{env['GATEWAY_PORT']}"
        admin = httpx.get(f"{gateway}/admin/channels",
                          headers={"Authorization": f"Bearer {block['Admin token']}"})
        assert admin.status_code == 200, admin.text
        channels = {c["name"]: c for c in admin.json()}
        assert set(channels) == {"demo-mock", "demo-chat", "demo-worker", "demo-typed"}
        types = httpx.get(f"{gateway}/admin/task-types", headers={"Authorization": f"Bearer {block['Admin token']}"})
        assert {t["type"] for t in types.json()} == {"basic_clean", "model_pose12"}
        assert channels["demo-mock"]["base_url"] == f"http://127.0.0.1:{env['MOCK_UPSTREAM_PORT']}"
        wallet = httpx.get(f"{gateway}/api/wallet",
                           headers={"Authorization": f"Bearer {block['Demo API key']}"})
        assert wallet.status_code == 200, wallet.text
        assert wallet.json()["credited"] == DEMO_QUOTA  # a restart never credits the demo twice
        if paste:  # the first run: nothing spent yet (the pasted demo then spends some)
            assert wallet.json()["available"] == DEMO_QUOTA
        assert asyncio.run(worker_hello(gateway, block["Worker token"]))["type"] == "connected"
        if paste:
            assert_pasted_commands_answer(run, env)
        pids = recorded_pids(run_dir)
        assert set(pids) == {"run_local", "kafka", "mongo", "mock_upstream", "billing", "gateway", "poller",
                             "settlement"}
        assert run.interrupt() == 0, "".join(run.output)
    finally:
        if run.proc.poll() is None:
            run.interrupt()
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert list((run_dir / "pids").glob("*.pid")) == []
    assert [var for var in PORT_VARS if not port_free(int(env[var]))] == []
    return block


def test_make_run_starts_seeds_stops_and_restarts_with_the_same_demo(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update({var: str(port) for var, port in zip(PORT_VARS, free_ports(len(PORT_VARS)))})
    env["CUSTOMPASS_RUN_DIR"] = str(run_dir)
    try:
        first = start_seeded_and_stop(env, run_dir, paste=True)
        assert (run_dir / "mongo-data").is_dir()
        first_gateway_log = (run_dir / "logs" / "gateway.log").read_bytes()
        second = start_seeded_and_stop(env, run_dir)  # the wallet check inside: not credited twice
    finally:  # whatever a failed assertion left running
        subprocess.run([sys.executable, "-m", "tools.run_local", "--stop"], cwd=ROOT, env=env, check=False)
    for field in ("Admin token", "Demo user", "Demo API key", "Worker token"):
        assert second[field] == first[field]
    assert (run_dir / "logs" / "gateway.log.1").read_bytes() == first_gateway_log  # kept, rotated
    for kept in ("callback-signing-secret", "task-receipt-signing-key", "user-ref-secret"):  # never signed with ""
        secret = run_dir / kept
        assert len(secret.read_text().strip()) >= 24 and secret.stat().st_mode & 0o077 == 0
