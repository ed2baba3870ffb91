"""When a task is polled next: the channel's interval, or a backoff with jitter after errors."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_BACKOFF_S = 300.0


def next_poll(moment: datetime, interval_s: float, errors: int = 0, retry_after_s: float | None = None,
              rng: random.Random | None = None) -> datetime:
    if errors <= 0:
        return moment + timedelta(seconds=interval_s)
    backoff = min(interval_s * 2 ** errors, MAX_BACKOFF_S) * (0.5 + (rng or random).random())
    return moment + timedelta(seconds=max(backoff, retry_after_s or 0.0))
