"""Exponential backoff with jitter, for every retry loop: the wait doubles with each attempt (up
to `cap_s`) and is spread over 0.5-1.5x, so retries of many tasks or processes do not land on an
upstream all at once."""
from __future__ import annotations

import math
import random


def backoff_s(base_s: float, attempt: int, cap_s: float = math.inf, rng: random.Random | None = None) -> float:
    return min(base_s * 2 ** attempt, cap_s) * (0.5 + (rng or random).random())
