"""When a task is polled next: the channel's interval, or a backoff with jitter after errors."""
from __future__ import annotations

import random

from shared.backoff import backoff_s
from shared.clock import stamp_in

MAX_BACKOFF_S = 300.0


def delay_s(interval_s: float, errors: int = 0, retry_after_s: float | None = None,
            rng: random.Random | None = None) -> float:
    if errors <= 0:
        return interval_s
    backoff = backoff_s(interval_s, errors, MAX_BACKOFF_S, rng)
    return max(backoff, retry_after_s or 0.0)


def next_poll(interval_s: float, errors: int = 0, retry_after_s: float | None = None) -> str:
    return stamp_in(delay_s(interval_s, errors, retry_after_s))
