"""Named places where a process may be told to die, to prove the dual-write gaps are closed.

Each point sits between a MongoDB write and the Kafka publish (or the next write) that follows
it. Off unless `CUSTOMPASS_CRASH_AT` names the point: only the chaos run and its tests set it,
on one process at a time. The process then exits at once, as a SIGKILL would leave it: no
cleanup, no flush, nothing published.
"""
from __future__ import annotations

import os

# The points, where each sits and what must recover from it (docs/architecture.md, "Chaos run").
POINTS = {
    "billing.hold_written": "billing: hold placed in MongoDB, its reply not yet published",
    "gateway.hold_written": "gateway (HOLD_PLACEMENT=gateway): holds written in MongoDB, not yet answered",
    "gateway.hold_placed": "gateway: task stored and held, not yet submitted upstream",
    "task.finished": "any service: terminal status written, task.status_changed not yet published",
    "settlement.hold_settled": "settlement: hold captured or voided, consumption log not yet written",
}
EXIT_CODE = 137  # what a shell reports for SIGKILL


def crash_point(name: str) -> None:
    assert name in POINTS, name
    if os.environ.get("CUSTOMPASS_CRASH_AT") == name:
        os._exit(EXIT_CODE)
