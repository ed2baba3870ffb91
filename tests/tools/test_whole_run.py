"""A parallel run fails unless every collected test ran (tests/harness/whole_run.py).

Each case runs a small pytest session over three tests that share one node id, as the
schemathesis fuzzing's tests do, spread over two xdist workers."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TWINS = '''
import pytest

class Twin(pytest.Item):
    def runtest(self):
        pass

class Twins(pytest.File):
    def collect(self):
        for _ in range(3):
            yield Twin.from_parent(self, name="twin")

def pytest_collect_file(parent, file_path):
    if file_path.name == "twins.txt":
        return Twins.from_parent(parent, path=file_path)
'''


def run_twins(tmp_path: Path, dist: str) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text(TWINS)
    (tmp_path / "twins.txt").write_text("")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist", "-p", "tests.harness.whole_run", "-p", "no:cacheprovider",
         "-n", "2", "--dist", dist, "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True, text=True, timeout=120)


def test_a_run_that_merged_tests_sharing_a_node_id_fails_and_says_why(tmp_path: Path) -> None:
    run = run_twins(tmp_path, "loadfile")
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "only 1 of the 3 tests collected ran" in run.stdout, run.stdout


def test_the_scheduler_make_test_uses_runs_every_test(tmp_path: Path) -> None:
    run = run_twins(tmp_path, "worksteal")
    assert run.returncode == pytest.ExitCode.OK, run.stdout + run.stderr
    assert "3 passed" in run.stdout, run.stdout
