"""The infrastructure of one benchmark run: the stand-ins (started here, stopped at the end) and
stacks of service processes on them."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.stack import Stack
from tools import devinfra


@dataclass
class BenchEnv:
    infra: devinfra.Infra
    state_dir: Path
    log_dir: Path
    keep_logs: bool = False  # set when a scenario failed, so its service logs survive
    service_env: dict[str, str] = field(default_factory=dict)  # set on every stack's services

    def infra_pids(self) -> dict[str, int]:
        pids = {}
        for name, label in (("kafka", "tansu"), ("mongo", "nx-27017")):
            try:
                pids[label] = int((self.state_dir / f"{name}.pid").read_text())
            except (OSError, ValueError):
                pass
        return pids

    @contextlib.contextmanager
    def stack(self, services: Iterable[str], **extra_env: str) -> Iterator[Stack]:
        stack = Stack(self.infra, self.log_dir, services=list(services), extra_env={**self.service_env, **extra_env})
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()

    def pids(self, stack: Stack) -> dict[str, int]:
        """Every process worth watching: the stack's services, the stand-ins, this process."""
        found = {name: p.proc.pid for name, p in stack.processes.items() if p.proc is not None}
        return {**found, **self.infra_pids(), "bench (this process)": os.getpid()}


@contextlib.contextmanager
def bench_env(keep_logs: bool = False, service_env: dict[str, str] | None = None) -> Iterator[BenchEnv]:
    root = Path(tempfile.mkdtemp(prefix="custompass-bench-"))
    state_dir, log_dir = root / "infra", root / "logs"
    log_dir.mkdir(parents=True)
    infra = devinfra.up(state_dir)
    env = BenchEnv(infra, state_dir, log_dir, keep_logs, service_env or {})
    try:
        yield env
    except BaseException:
        env.keep_logs = True
        raise
    finally:
        devinfra.down(state_dir)
        if env.keep_logs:
            print(f"logs kept in {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)
