"""An interrupted test run stops every process its tests started (tests/harness/reaping.py).

Each case runs a small pytest session whose test starts a process in a session of its own, as the
harness starts brokers and services, and then hangs; the session is then ended as a CI runner or an
operator would end it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

HANGING_TEST = '''
import os, subprocess, sys, threading
from pathlib import Path

def test_hangs():
    child = subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait()"],
                             start_new_session=True)
    Path(os.environ["CHILD_PID_FILE"]).write_text(str(child.pid))
    threading.Event().wait()
'''


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def _ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("ending, started_ignoring_sigint", [
    (signal.SIGKILL, False), (signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGINT, True)],
    ids=["sigkill", "sigterm", "sigint", "sigint-to-a-background-job"])
def test_a_process_started_by_a_test_ends_with_the_run(tmp_path: Path, ending: signal.Signals,
                                                       started_ignoring_sigint: bool) -> None:
    """A background job of a non-interactive shell starts with SIGINT ignored (the last case)."""
    (tmp_path / "test_hanging.py").write_text(HANGING_TEST)
    pid_file, record = tmp_path / "child.pid", tmp_path / "reaper.record"
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.harness.reaping", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_hanging.py")],
        cwd=ROOT, env={**os.environ, "CHILD_PID_FILE": str(pid_file), "PYTHONPATH": str(ROOT),
                       "CUSTOMPASS_REAPER_RECORD": str(record), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_ignoring_sigint if started_ignoring_sigint else None)
    child = None
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text(), 60, "the test to start its process")
        child = int(pid_file.read_text())
        assert running(child)
        wait_until(lambda: record.exists() and str(child) in record.read_text().split(), 60,
                   "the watchdog to record the process")
        if ending == signal.SIGINT:
            os.killpg(run.pid, ending)  # Ctrl-C: the terminal signals the whole foreground group
        else:
            run.send_signal(ending)
        run.wait(timeout=60)
        wait_until(lambda: not running(child), 60, f"process {child} to be stopped after {ending.name}")
    finally:
        if run.poll() is None:
            run.kill()
        if child is not None and running(child):
            os.killpg(child, signal.SIGKILL)
