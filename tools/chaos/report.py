"""The printed account of a run: what was done to the system, and the verdict."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tools.chaos.checker import Check
from tools.chaos.tally import Tally

SHOWN_IDS = 10


@dataclass
class Report:
    seed: int
    duration_s: float
    tally: Tally
    faults: list[str] = field(default_factory=list)
    task_statuses: Counter[str] = field(default_factory=Counter)
    drain_s: float = 0.0
    wall_s: float = 0.0
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def render(self) -> str:
        lines = [f"chaos run: seed {self.seed}, load {self.duration_s:.0f}s, drained in {self.drain_s:.1f}s, "
                 f"{self.wall_s:.0f}s in all",
                 f"tasks: {sum(self.task_statuses.values())} ({_counts(self.task_statuses)})",
                 f"answers: {_counts(self.tally.answers)}",
                 f"faults ({len(self.faults)}):", *(f"  {line}" for line in self.faults),
                 "invariants:"]
        for check in self.checks:
            lines.append(f"  {'PASS' if check.passed else 'FAIL'}  {check.name}"
                         + (f"  [{check.note}]" if check.note else ""))
            lines += [f"        {item}" for item in check.offending[:SHOWN_IDS]]
            if len(check.offending) > SHOWN_IDS:
                lines.append(f"        ... and {len(check.offending) - SHOWN_IDS} more")
        lines.append(f"verdict: {'PASS' if self.passed else 'FAIL'} (rerun: make chaos SEED={self.seed} "
                     f"DURATION={self.duration_s:.0f})")
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()))
