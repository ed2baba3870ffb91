"""shared/listing.py's period: a stamp range, `since` included, `until` excluded."""
from __future__ import annotations

from datetime import datetime

from shared.clock import stamp
from shared.listing import within


def test_a_period_bounds_only_the_ends_given_and_reads_a_naive_time_as_utc():
    since, until = datetime(2026, 12, 1, 8), datetime(2026, 12, 2, 8)
    assert within(None, None) == {}
    assert within(since, None) == {"$gte": "2026-12-01T08:00:00.000000Z"}
    assert within(None, until) == {"$lt": stamp(until)}
    assert within(since, until) == {"$gte": stamp(since), "$lt": "2026-12-02T08:00:00.000000Z"}
