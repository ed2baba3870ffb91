"""Small shared pieces: percentiles, result rows, CPU accounting of the processes under test."""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.upstream.transport import AiohttpTransport

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def load_client(base_url: str, connections: int, **options) -> httpx.AsyncClient:
    """The client a scenario's callers share: httpx's API over the product's upstream transport
    (shared/upstream/transport.py). The load generator runs on the machine it measures; with
    httpx's own transport it spent about as much CPU per call as the gateway, which the system
    under test then lacked."""
    return httpx.AsyncClient(base_url=base_url, transport=AiohttpTransport(max_connections=connections), **options)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation): p99 of 3,000 samples is the 2,970th."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """`min-max of N` for notes, so the reader sees how much repeats varied."""
    if len(values) < 2:
        return ""
    return f"repeats {fmt.format(min(values))}-{fmt.format(max(values))} (n={len(values)})"


def notes(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


@dataclass
class Row:
    scenario: str
    figure: str
    value: str
    notes: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # free text sections (CPU breakdowns, errors)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (title, markdown) of a scenario's own tables

    def add(self, scenario: str, figure: str, value: str, notes: str = "") -> None:
        row = Row(scenario, figure, value, notes)
        self.rows.append(row)
        print(f"  {scenario:<14} {figure:<44} {value:>16}  {notes}", flush=True)

    def contention(self, scenario: str, label: str, meter: "CpuMeter") -> None:
        """How much of the machine other processes took while this scenario measured."""
        others = meter.others_share()
        if others is not None:
            self.add(scenario, f"{label}CPU used by processes outside the bench", f"{others:.0f}% of {meter.capacity}%",
                     "other work on the machine during the measurement; high means figures are pessimistic")

    def section(self, title: str, markdown: str) -> None:
        """A scenario's own table, too wide for one row of the summary (written under its title)."""
        self.sections.append((title, markdown))  # printed after the summary table, like the file

    def detail(self, text: str) -> None:
        self.details.append(text)
        print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process (not its children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class CpuMeter:
    """CPU seconds used by named processes between `start()` and `stop()`, and as a share of
    the wall time (100 % = one core busy)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float | None] = {}
        self.used: dict[str, float] = {}
        self.wall = 0.0
        self.machine_busy_s: float | None = None

    def start(self) -> "CpuMeter":
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._machine0 = machine_busy()
        self._t0 = time.monotonic()
        return self

    def stop(self) -> "CpuMeter":
        self.wall = time.monotonic() - self._t0
        machine1 = machine_busy()
        self.machine_busy_s = None
        if machine1 and self._machine0:
            self.machine_busy_s = machine1[0] - self._machine0[0]
        for name, pid in self.pids.items():
            after, before = cpu_seconds(pid), self.before.get(name)
            if after is not None and before is not None:
                self.used[name] = after - before
        return self

    @property
    def capacity(self) -> int:
        return (os.cpu_count() or 1) * 100

    def others_share(self) -> float | None:
        """CPU % (100 = one core) used by processes not in `pids` while measuring."""
        if self.machine_busy_s is None or self.wall <= 0:
            return None
        return max(self.machine_busy_s - sum(self.used.values()), 0.0) / self.wall * 100

    def summary(self) -> str:
        parts = [f"{name} {used:.1f}s ({used / self.wall * 100:.0f}%)"
                 for name, used in sorted(self.used.items(), key=lambda kv: -kv[1]) if self.wall > 0]
        text = f"CPU over {self.wall:.1f}s wall (100% = one core): " + ", ".join(parts)
        others = self.others_share()
        if others is not None:
            text += (f"; whole machine busy {self.machine_busy_s / self.wall * 100:.0f}% of {self.capacity}%, "
                     f"of which processes outside this benchmark {others:.0f}%")
        return text


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


async def closed_loop(concurrency: int, count: int, op) -> tuple[list[float], float, list[BaseException]]:
    """`count` calls of `op(i)` by `concurrency` callers, each starting its next call when the
    previous one ended. Returns the latency of every successful call, the wall time, the errors."""
    import asyncio

    latencies: list[float] = []
    errors: list[BaseException] = []
    next_index = iter(range(count))

    async def caller() -> None:
        for i in next_index:
            t0 = time.perf_counter()
            try:
                await op(i)
            except Exception as exc:  # reported, not raised: one failure should not hide the figures
                errors.append(exc)
                continue
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return latencies, time.perf_counter() - t0, errors


def peak_rss_mib(pid: int) -> float | None:
    """The most resident memory a process has used so far (VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
