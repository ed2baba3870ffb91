"""shared/crash_points.py: a named point ends the process as a SIGKILL would, only when
CUSTOMPASS_CRASH_AT names it; a name that is no point is a programming error."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.crash_points import EXIT_CODE, POINTS, crash_point


@pytest.mark.parametrize("armed, code", [("task.finished", EXIT_CODE), ("", 0), ("settlement.hold_settled", 0)])
def test_a_crash_point_ends_the_process_only_when_armed(armed, code):
    script = "from shared.crash_points import crash_point; crash_point('task.finished')"
    done = subprocess.run([sys.executable, "-c", script], env={"CUSTOMPASS_CRASH_AT": armed, "PATH": ""},
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == code


def test_an_unknown_point_is_refused(monkeypatch):
    monkeypatch.delenv("CUSTOMPASS_CRASH_AT", raising=False)
    with pytest.raises(AssertionError):
        crash_point("billing.hold_writen")
    assert "billing.hold_written" in POINTS
