"""`make run` installs only the product's dependencies; `make test` adds the test tooling (the `dev`
group) to the same .venv. Either order works, and neither undoes or repeats the other's install.
Runs the real Makefile in a scratch folder whose uv and python only record how they were called."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.run_local import ROOT

RECORDER = """#!/bin/sh
mkdir -p .venv
echo "$(basename "$0") $*" >> calls.log
"""
# Files the test target's other prerequisites (browser, Node packages) are satisfied by here.
PREPARED = ("pyproject.toml", "uv.lock", ".tools/infra/.installed", "examples/package-lock.json",
            "examples/node_modules/.installed", "deploy/k8s/crd-validation/package-lock.json",
            "deploy/k8s/crd-validation/node_modules/.package-lock.json")
OVERRIDES = ("CHROMIUM=/bin/sh", "NODE=/bin/sh")
PYTEST = "python -m pytest -n 2 --dist worksteal"


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for index, name in enumerate(PREPARED):  # inputs older than their outputs, in Makefile order
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        os.utime(path, (1_000_000 + index, 1_000_000 + index))
    for tool in (".tools/uv/bin/uv", ".venv/bin/python"):
        (tmp_path / tool).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / tool).write_text(RECORDER)
        (tmp_path / tool).chmod(0o755)
    return tmp_path


def make(folder: Path, target: str) -> list[str]:
    """The calls one `make <target>` made to uv and python."""
    log = folder / "calls.log"
    before = log.read_text().splitlines() if log.exists() else []
    subprocess.run(["make", "-s", target, *OVERRIDES], cwd=folder, check=True, capture_output=True)
    return log.read_text().splitlines()[len(before):]


def test_make_run_syncs_without_the_dev_group_then_make_test_adds_it(scratch: Path) -> None:
    assert make(scratch, "run") == ["uv sync --frozen --compile-bytecode --no-dev --inexact --python python3",
                                    "python -m tools.run_local"]
    assert make(scratch, "test") == ["uv sync --frozen --compile-bytecode --python python3", PYTEST]
    assert make(scratch, "run") == ["python -m tools.run_local"]  # the full sync covers the run
    assert make(scratch, "test") == [PYTEST]


def test_make_test_first_leaves_make_run_nothing_to_install(scratch: Path) -> None:
    assert make(scratch, "test") == ["uv sync --frozen --compile-bytecode --python python3", PYTEST]
    assert make(scratch, "run") == ["python -m tools.run_local"]
