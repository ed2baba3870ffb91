"""`make run`'s supervision (tools/supervisor.py), on real child processes: an unexpected exit is
restarted after its backoff while the others keep running, a process that keeps failing is
given up on, and an operator's restart request (as `make restart` sends it) is carried out,
with the processes that depend on it."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from tools.devinfra import stop_pid
from tools.supervisor import GAVE_UP, RUNNING, Backoff, Child, Supervisor, read_status, request_restart

QUICK = Backoff(first_delay_s=0.05, max_delay_s=0.2, max_restarts=3, window_s=60.0)
LIMIT_S = 30.0


def process(code: str) -> int:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True).pid


def sleeper() -> int:
    return process("import time; time.sleep(600)")


def supervise(children: list[Child], folder: Path, until, **kwargs) -> tuple[Supervisor, list[str]]:
    logged: list[str] = []
    for child in children:
        child.pid, child.state = child.start(), RUNNING
    sup = Supervisor(children, folder, QUICK, log=logged.append, **kwargs)
    deadline = time.monotonic() + LIMIT_S
    try:
        sup.run(until=lambda: until(sup) or time.monotonic() > deadline)
    finally:
        for child in children:
            if child.pid:
                stop_pid(child.pid, timeout=2)
    return sup, logged


def test_an_exited_process_is_restarted_and_counted_while_the_others_keep_running(tmp_path: Path) -> None:
    dying = Child("billing", sleeper)
    steady = Child("gateway", sleeper)
    steady_pid: list[int] = []

    def until(sup: Supervisor) -> bool:
        if not steady_pid:  # the first tick: kill billing as a SIGKILL would
            steady_pid.append(steady.pid)
            subprocess.run(["kill", "-9", str(dying.pid)], check=True)
        return dying.restarts == 1 and dying.state == RUNNING

    sup, logged = supervise([dying, steady], tmp_path, until)
    assert dying.restarts == 1 and dying.state == RUNNING and dying.last_exit == -9
    assert steady.restarts == 0 and steady.pid == steady_pid[0]
    assert any("billing exited with code -9; restarting it" in line for line in logged), logged
    status = read_status(tmp_path)
    assert status["processes"]["billing"]["restarts"] == 1
    assert status["summary"] == "status: 2/2 running; restarts: billing 1"


def test_a_process_that_keeps_failing_is_given_up_on(tmp_path: Path) -> None:
    failing = Child("settlement", lambda: process("raise SystemExit(3)"))
    sup, logged = supervise([failing, Child("gateway", sleeper)], tmp_path, lambda s: failing.state == GAVE_UP)
    assert failing.state == GAVE_UP and failing.restarts == QUICK.max_restarts and failing.last_exit == 3
    assert "giving up on it" in logged[-1] and "make restart SERVICE=settlement" in logged[-1], logged
    assert sup.summary() == "status: 1/2 running; restarts: settlement 3; gave up on: settlement"


def test_a_restart_request_restarts_the_process_and_those_after_it(tmp_path: Path) -> None:
    broker, service, other = Child("kafka", sleeper), Child("billing", sleeper), Child("mock", sleeper)
    answers: list[dict] = []

    def ask() -> None:
        while read_status(tmp_path) is None:
            time.sleep(0.05)
        answers.append(request_restart(tmp_path, "kafka", timeout_s=LIMIT_S))

    asking = threading.Thread(target=ask)
    asking.start()
    before = {c.name: None for c in (broker, service, other)}

    def until(_: Supervisor) -> bool:
        for child in (broker, service, other):
            before[child.name] = before[child.name] or child.pid
        return bool(answers) and service.state == RUNNING

    supervise([broker, service, other], tmp_path, until,
              after_restart=lambda name: ["billing"] if name == "kafka" else [])
    asking.join(timeout=LIMIT_S)
    assert answers and answers[0]["state"] == RUNNING and answers[0]["restarts"] == 1
    assert broker.restarts == service.restarts == 1 and other.restarts == 0
    assert broker.pid != before["kafka"] and service.pid != before["billing"] and other.pid == before["mock"]
    assert broker.last_exit is None  # asked for: not counted as a failure
