"""`make run` rotates the service logs of earlier runs instead of wiping them (tools/run_local.py)."""
from __future__ import annotations

from pathlib import Path

from tools.run_local import KEPT_LOGS, rotate_logs


def test_each_start_rotates_logs_keeping_the_last_few_runs(tmp_path: Path) -> None:
    for run in range(1, KEPT_LOGS + 3):  # more runs than are kept
        rotate_logs(tmp_path, ["gateway", "billing"])
        (tmp_path / "gateway.log").write_text(f"run {run}\n")
    assert (tmp_path / "gateway.log").read_text() == f"run {KEPT_LOGS + 2}\n"
    kept = {p.name: p.read_text() for p in tmp_path.glob("gateway.log.*")}
    assert kept == {f"gateway.log.{age}": f"run {KEPT_LOGS + 2 - age}\n" for age in range(1, KEPT_LOGS + 1)}
    assert not list(tmp_path.glob("billing.log*"))  # a service that never logged: nothing made up
