"""What the load saw: answers per kind of request, and the tasks the gateways acknowledged."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    answers: Counter[str] = field(default_factory=Counter)  # "async 200", "sync 402", "topup unreachable"
    acknowledged: set[str] = field(default_factory=set)  # task ids a client was given
    server_errors: list[str] = field(default_factory=list)  # 500s: never allowed, whatever broke

    def answer(self, kind: str, status: int | str, body: str = "") -> None:
        self.answers[f"{kind} {status}"] += 1
        if status == 500 and kind != "worker":  # a worker task's own failure is a documented 500
            self.server_errors.append(f"{kind}: {body[:200]}")
