"""The fault schedule: which fault strikes when, drawn from the seed alone, so a seed names a run.

Every kind of fault appears once in each round, in an order shuffled per round. The run is cut
into evenly spaced slots, one per fault, each jittered within its own span: at least one round,
more when the run is long enough. Faults run one after another, so a short run whose restarts
take longer than their slot simply runs past its duration.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

KILLS = ("kill:billing", "kill:settlement", "kill:poller", "kill:gateway_b")
# The dual-write gaps: the process dies right after a MongoDB write, before the publish after it.
CRASHES = ("crash:billing.hold_written", "crash:gateway.hold_written", "crash:gateway.hold_placed", "crash:task.finished",
           "crash:settlement.hold_settled")
UPSTREAM = ("upstream:error", "upstream:timeout", "upstream:429")
OTHERS = ("worker:drop", "duplicates")
# Every service in turn, SIGTERM then start, as a rollout does: after all the other faults, before the broker's.
ROLLING = "rolling:restart"
BROKER = "broker:restart"
# A restart takes a few seconds on a quiet machine; a longer run gets a fault this often.
MIN_SLOT_S = 6.0


@dataclass(frozen=True)
class Fault:
    at_s: float
    kind: str

    def __str__(self) -> str:
        return f"{self.at_s:6.1f}s {self.kind}"


def fault_schedule(seed: int, duration_s: float, *, broker: bool = False) -> list[Fault]:
    rng = random.Random(seed)
    kinds = [*KILLS, *CRASHES, *UPSTREAM, *OTHERS]
    slots = max(len(kinds), int(duration_s // MIN_SLOT_S))
    order: list[str] = []
    while len(order) < slots:
        round_ = kinds[:]
        rng.shuffle(round_)
        order += round_
    order = order[:slots] + [ROLLING]
    if broker:  # last, so everything before it ran on a broker that never lost a message
        order.append(BROKER)
    span = duration_s / len(order)
    return [Fault(round(i * span + rng.uniform(0.1, 0.5) * span, 1), kind) for i, kind in enumerate(order)]
