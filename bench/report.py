"""The results table, the machine it was measured on, and the results file."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

from bench.common import Results
from tools import devinfra

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def code_revision() -> str:
    """The commit measured, and whether the service code differed from it (others edit the
    same working tree). BENCH_CODE_REV names it when the run is not in a git checkout."""
    if os.environ.get("BENCH_CODE_REV"):
        return os.environ["BENCH_CODE_REV"]
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "services", "shared", "tools", "tests"],
                               cwd=root, capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return head + (f" plus uncommitted changes in {len(dirty.splitlines())} service/shared/test files" if dirty else "")


def machine(code: str | None = None) -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "code": code or code_revision(),
        "nproc": str(os.cpu_count()),
        "CPU": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "Python": sys.version.split()[0],
        "stand-ins": "Kafka: Tansu 0.6.0 from " + devinfra.PINNED[0] + "; MongoDB: " + devinfra.PINNED[1]
                     + " (--data-dir memory)",
    }


def table(results: Results) -> str:
    header = ["scenario", "figure", "value", "notes"]
    rows = [[r.scenario, r.figure, r.value, r.notes] for r in results.rows]
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) if rows else len(header[i]) for i in range(4)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "/").ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def write(results: Results, *, command: str, settings: dict[str, str], started: datetime.datetime,
          elapsed_s: float, load: tuple[str, str], code: str | None = None) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{started:%Y-%m-%d}.md"
    if path.exists():  # an earlier run of the day stays: notes and commits quote its figures
        path = RESULTS_DIR / f"{started:%Y-%m-%d-%H%M}.md"
    info = machine(code)
    lines = [
        f"# CustomPass benchmark, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{command}` ({elapsed_s:.0f} s).",
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        f"- load average (1/5/15 min) at start: {load[0]}; at end: {load[1]}",
        "",
        "## Settings",
        "",
        *(f"- {k}: {v}" for k, v in settings.items()),
        "",
        "## Results",
        "",
        "Medians of repeats where repeats are noted; latencies are nearest-rank percentiles.",
        "",
        table(results),
        "",
        *(part for title, markdown in results.sections for part in (f"### {title}", "", markdown, "")),
        "## Details",
        "",
        *(_detail(d) for d in results.details),
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def _detail(text: str) -> str:
    if "\n" in text:  # a traceback
        return "```\n" + text.rstrip() + "\n```"
    return f"- {text}"
