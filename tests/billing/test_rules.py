from datetime import UTC, datetime, timedelta

import pytest

from shared.ledger.rules import capture_split, hold_rejection

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("hold,cost,available,expected", [
    (10, 10, 0, (10, 0, 0, 0)),
    (10, 4, 0, (4, 6, 0, 0)),
    (10, 0, 0, (0, 10, 0, 0)),
    (10, 13, 5, (13, 0, 3, 0)),
    (10, 13, 1, (11, 0, 1, 2)),
    (0, 7, 0, (0, 0, 0, 7)),
])
def test_capture_split(hold, cost, available, expected):
    split = capture_split(hold, cost, available)
    assert (split.charged, split.refund, split.shortfall, split.debt) == expected
    assert split.charged + split.debt == cost  # nothing is lost: charged or owed


def test_capture_split_refuses_negative_amounts():
    with pytest.raises(ValueError):
        capture_split(1, -1, 0)


@pytest.mark.parametrize("user,reason", [
    (None, "user_not_found"),
    ({"status": "disabled"}, "user_disabled"),
    ({"status": "active", "member_until": NOW - timedelta(seconds=1)}, "not_member"),
    ({"status": "active", "member_until": NOW + timedelta(days=1)}, None),
    ({"status": "active", "member_until": None}, None),
])
def test_hold_rejection(user, reason):
    assert hold_rejection(user, NOW) == reason
