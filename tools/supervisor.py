"""`make run`'s process supervision: a process that exits unexpectedly is started again after a
backoff, the others keep serving, and one that keeps failing is given up on with a message.

Backoff: the n-th unexpected exit within `window_s` waits `first_delay_s * 2**(n-1)` (at most
`max_delay_s`) before the next start; the exit after `max_restarts` of them within the window
gives the process up until the operator restarts it. A process that has run a whole window
without failing starts from the first delay again.

The operator talks to a running supervisor through its run folder (no socket, no signal):
`--restart NAME` drops `control/restart.NAME`, which the loop picks up within a tick, and the
loop writes `status.json` (every process's state, pid and restart count) on each change, which
`--status` prints. Only the standard library: `make stop`, `make status` and `make restart`
run this on the system python.
"""
from __future__ import annotations

import json
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.devinfra import stop_pid

STARTING, RUNNING, WAITING, GAVE_UP = "starting", "running", "restarting", "gave up"
TICK_S = 0.2
STATUS_FILE = "status.json"
CONTROL = "control"
# Blocked while a process is started and recorded, so a Ctrl-C never leaves one unrecorded.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@dataclass(frozen=True)
class Backoff:
    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_restarts: int = 5
    window_s: float = 300.0

    def delay(self, failures_in_window: int) -> float:
        return min(self.max_delay_s, self.first_delay_s * 2 ** max(0, failures_in_window - 1))


@dataclass
class Child:
    """One supervised process. `start` starts it in a process group of its own and returns its
    pid; `ready` says whether the started process serves yet."""
    name: str
    start: Callable[[], int]
    ready: Callable[[], bool] = lambda: True
    pid: int | None = None
    state: str = STARTING
    restarts: int = 0  # every start after the first, the operator's included
    failures: deque[float] = field(default_factory=deque)  # when it exited unexpectedly, within the window
    last_exit: int | None = None
    start_at: float = 0.0  # when a waiting child is started again

    def status(self) -> dict:
        return {"state": self.state, "pid": self.pid, "restarts": self.restarts, "last_exit": self.last_exit}


class Supervisor:
    """Runs in the thread that started the children (it reaps them: they must be its children).
    `after_restart(name)` names the children to restart with one (e.g. every service after the
    memory-only broker lost their topics and consumer groups)."""

    def __init__(self, children: list[Child], folder: Path, backoff: Backoff = Backoff(),
                 log: Callable[[str], None] = print,
                 after_restart: Callable[[str], list[str]] = lambda name: []) -> None:
        self.children = {child.name: child for child in children}
        self.folder, self.backoff, self.log, self.after_restart = folder, backoff, log, after_restart
        (folder / CONTROL).mkdir(parents=True, exist_ok=True)
        for stale in (folder / CONTROL).glob("restart.*"):  # an earlier run's unanswered request
            stale.unlink()

    def run(self, until: Callable[[], bool] = lambda: False) -> None:
        """Supervises until `until()` (tests) or an exception (KeyboardInterrupt: the run stops)."""
        self.write_status()
        while not until():
            changed = self._reap() | self._restart_due() | self._take_requests() | self._see_ready()
            if changed:
                self.write_status()
            time.sleep(TICK_S)

    def summary(self) -> str:
        """The status line: how many run, and which were restarted or given up."""
        running = sum(c.state == RUNNING for c in self.children.values())
        restarted = ", ".join(f"{c.name} {c.restarts}" for c in self.children.values() if c.restarts) or "none"
        given_up = [c.name for c in self.children.values() if c.state == GAVE_UP]
        return (f"status: {running}/{len(self.children)} running; restarts: {restarted}"
                + (f"; gave up on: {', '.join(given_up)}" if given_up else ""))

    def write_status(self) -> None:
        status = {"supervisor_pid": os.getpid(), "updated_at": time.time(), "summary": self.summary(),
                  "processes": {name: child.status() for name, child in self.children.items()}}
        temporary = self.folder / f".{STATUS_FILE}.tmp"
        temporary.write_text(json.dumps(status, indent=2) + "\n")
        temporary.replace(self.folder / STATUS_FILE)

    def _reap(self) -> bool:
        changed = False
        while True:
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return changed
            if pid == 0:
                return changed
            child = next((c for c in self.children.values() if c.pid == pid), None)
            if child is not None:
                self._exited(child, os.waitstatus_to_exitcode(code))
                changed = True

    def _exited(self, child: Child, code: int) -> None:
        now = time.monotonic()
        child.pid, child.last_exit = None, code
        child.failures.append(now)
        while child.failures and child.failures[0] < now - self.backoff.window_s:
            child.failures.popleft()
        if len(child.failures) > self.backoff.max_restarts:
            child.state = GAVE_UP
            self.log(f"run_local: {child.name} exited with code {code}, {len(child.failures)} exits in "
                     f"{self.backoff.window_s:.0f}s: giving up on it; the others keep running. See its log, "
                     f"then `make restart SERVICE={child.name}`.")
            return
        delay = self.backoff.delay(len(child.failures))
        child.state, child.start_at = WAITING, now + delay
        self.log(f"run_local: {child.name} exited with code {code}; restarting it in {delay:g}s "
                 f"(exit {len(child.failures)} of {self.backoff.max_restarts + 1} allowed in "
                 f"{self.backoff.window_s:.0f}s)")

    def _restart_due(self) -> bool:
        due = [c for c in self.children.values() if c.state == WAITING and c.start_at <= time.monotonic()]
        for child in due:
            self._start(child)
        return bool(due)

    def _take_requests(self) -> bool:
        requests = sorted((self.folder / CONTROL).glob("restart.*"))
        for request in requests:
            request.unlink(missing_ok=True)
            child = self.children.get(request.name.removeprefix("restart."))
            if child is None:
                continue
            self.log(f"run_local: restarting {child.name}, as asked")
            self._restart(child)
        return bool(requests)

    def _restart(self, child: Child) -> None:
        if child.pid is not None:
            pid, child.pid = child.pid, None  # so its exit is not taken for a failure
            stop_pid(pid)
        child.failures.clear()  # the operator's restart gives a given-up process its tries back
        self._start(child)

    def _start(self, child: Child) -> None:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            child.pid = child.start()
        except Exception as exc:  # noqa: BLE001 - e.g. a stand-in that never listens: counted as an exit
            self.log(f"run_local: starting {child.name} failed: {exc}")
            child.restarts += 1
            self._exited(child, -1)
            return
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        child.restarts += 1
        child.state = STARTING
        self.log(f"run_local: {child.name} started again (pid {child.pid}, restart {child.restarts})")
        for name in self.after_restart(child.name):
            other = self.children[name]
            if other.pid is not None:
                self.log(f"run_local: restarting {name} after {child.name}")
                self._restart(other)

    def _see_ready(self) -> bool:
        became = [c for c in self.children.values() if c.state == STARTING and c.ready()]
        for child in became:
            child.state = RUNNING
        if became:
            self.log(f"run_local: {self.summary()}")
        return bool(became)


# --- the operator's side (another process) ----------------------------------------------------
def read_status(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None


def render_status(status: dict) -> str:
    lines = [status["summary"], f"{'process':<14} {'state':<11} {'pid':>8} {'restarts':>8}  last exit"]
    for name, child in status["processes"].items():
        last = "" if child["last_exit"] is None else str(child["last_exit"])
        lines.append(f"{name:<14} {child['state']:<11} {child['pid'] or '-':>8} {child['restarts']:>8}  {last}".rstrip())
    return "\n".join(lines)


def request_restart(folder: Path, name: str, timeout_s: float = 90.0) -> dict:
    """Asks the running supervisor to restart `name`; returns its status once it runs again."""
    before = (read_status(folder) or {}).get("processes", {}).get(name, {}).get("restarts", 0)
    (folder / CONTROL / f"restart.{name}").write_text("")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        child = (read_status(folder) or {}).get("processes", {}).get(name, {})
        if child.get("restarts", 0) > before and child.get("state") in (RUNNING, GAVE_UP):
            return child
        time.sleep(TICK_S)
    raise TimeoutError(f"{name} did not run again within {timeout_s:.0f}s; see `make status` and its log")
