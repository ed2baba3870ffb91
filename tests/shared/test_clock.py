from datetime import UTC, datetime, timedelta, timezone

from shared.clock import now, parse, seconds_since, stamp, stamp_in


def test_stamps_sort_like_the_times_they_name():
    base = datetime(2026, 1, 1, tzinfo=UTC)
    moments = [base + timedelta(microseconds=n) for n in (0, 1, 999_999)] + [base + timedelta(days=400)]
    assert sorted(stamp(m) for m in moments) == [stamp(m) for m in moments]
    assert all(len(stamp(m)) == 27 for m in moments)


def test_stamp_round_trips():
    moment = datetime(2026, 11, 25, 21, 1, 10, 345000, tzinfo=UTC)
    assert parse(stamp(moment)) == moment


def test_stamps_of_years_before_1000_keep_the_fixed_width():
    early = datetime(534, 7, 17, 12, 22, 19, tzinfo=UTC)
    assert stamp(early) == "0534-07-17T12:22:19.000000Z"
    assert parse(stamp(early)) == early
    assert sorted([stamp(datetime(2026, 1, 1, tzinfo=UTC)), stamp(early)])[0] == stamp(early)


def test_a_moment_in_another_zone_is_stamped_in_utc_and_a_naive_one_is_taken_as_utc():
    assert stamp(datetime(2026, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))) == "2026-01-01T01:30:00.000000Z"
    assert stamp(datetime(2026, 1, 1, 1, 30)) == "2026-01-01T01:30:00.000000Z"
    assert parse(datetime(2026, 1, 1, 1, 30)) == datetime(2026, 1, 1, 1, 30, tzinfo=UTC)


def test_seconds_since_a_stamp_in_the_past_and_the_future():
    assert 59 < seconds_since(stamp(now() - timedelta(seconds=60))) < 70
    assert -70 < seconds_since(stamp_in(60)) < -50
