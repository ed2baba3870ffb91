"""Nothing a test run started outlives it, however the run ends.

The harness starts brokers, database stand-ins, services and mocks in sessions of their own
(`start_new_session=True`), so that a test can kill one process group without touching the
others. The price is that a signal to the terminal's process group (Ctrl-C, `timeout make test`,
a CI runner stopping the job) never reaches them: a run that is interrupted before its fixtures
tear down used to leave whole stacks running.

Two layers close that gap:
- SIGTERM and SIGHUP end the run the way Ctrl-C does (KeyboardInterrupt), so pytest tears its
  fixtures down and every stack stops itself; so does SIGINT, even in a run started with it
  ignored (a background job).
- A watchdog process, in a session of its own so the same signals do not reach it, keeps a
  record of every process descended from the pytest process. When pytest is gone (killed with
  SIGKILL, crashed, or finished), it ends each recorded process that is still running: SIGTERM to
  its process group, SIGKILL to what is left after a grace period. A pid is only signalled while
  its start time still matches the record, so a reused pid is never touched.

A process started in the last scan interval before a SIGKILL can escape the record; anything
that ran longer cannot. With `CUSTOMPASS_REAPER_RECORD` set, the watchdog writes the pids it has
recorded to that file after every scan (its own test waits on it).

Used as a pytest plugin (`-p tests.harness.reaping`, or named in tests/conftest.py), and as a
program: `python -m tests.harness.reaping PID [RECORD_FILE]`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCAN_INTERVAL_S = 0.5
GRACE_S = 10.0
PROC = Path("/proc")


# ---- the pytest side -----------------------------------------------------------------------

def pytest_configure(config) -> None:
    if hasattr(config, "workerinput") or not PROC.is_dir():
        return  # an xdist worker (the controller watches the whole tree), or not Linux
    config._custompass_reaper = subprocess.Popen(  # noqa: SLF001 - our own attribute
        [sys.executable, "-m", "tests.harness.reaping", str(os.getpid()),
         *filter(None, [os.environ.get("CUSTOMPASS_REAPER_RECORD")])],
        cwd=Path(__file__).resolve().parents[2], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    # A run started as a background job of a non-interactive shell (`make test &`, some CI
    # runners) starts with SIGINT ignored, and Python then leaves it ignored: Ctrl-C, or a runner's
    # SIGINT, would not end it. Interrupting is the point of a SIGINT here.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


# ---- the watchdog --------------------------------------------------------------------------

def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, process group, start time) of a live process, or None."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and ")"
    state, ppid, pgrp, start = fields[0], int(fields[1]), int(fields[2]), int(fields[19])
    return None if state in ("Z", "X") else (state, ppid, pgrp, start)


def _processes() -> dict[int, tuple[int, int]]:
    """Every live process: pid -> (parent pid, start time)."""
    table = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            table[int(entry.name)] = (stat[1], stat[3])
    return table


def _descendants(root: int, table: dict[int, tuple[int, int]]) -> dict[int, int]:
    """Every process of `table` below `root`, each with its start time."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = {}, list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        found[pid] = table[pid][1]
        todo.extend(children.get(pid, ()))
    return found


def _still(pid: int, start: int) -> tuple[str, int, int, int] | None:
    stat = _stat(pid)
    return stat if stat is not None and stat[3] == start else None


def _end(recorded: dict[int, int], sig: int) -> None:
    for pid, start in recorded.items():
        if (stat := _still(pid, start)) is None:
            continue
        try:
            if stat[2] == pid:
                os.killpg(pid, sig)  # a session leader: its whole group with it
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass


def watch(root: int, record_file: Path | None = None) -> None:
    root_stat = _stat(root)
    if root_stat is None:
        return
    me, recorded = os.getpid(), {}
    while (table := _processes()).get(root, (0, None))[1] == root_stat[3]:
        recorded = {pid: start for pid, start in recorded.items() if table.get(pid, (0, None))[1] == start}
        recorded.update(_descendants(root, table))
        recorded.pop(me, None)
        if record_file is not None:
            record_file.with_suffix(".tmp").write_text(" ".join(map(str, recorded)))
            record_file.with_suffix(".tmp").replace(record_file)
        time.sleep(SCAN_INTERVAL_S)
    _end(recorded, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and any(_still(p, s) for p, s in recorded.items()):
        time.sleep(0.1)
    _end(recorded, signal.SIGKILL)


if __name__ == "__main__":
    for ignored in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(ignored, signal.SIG_IGN)  # outlive the run it watches; it ends by itself
    watch(int(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
