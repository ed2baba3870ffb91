"""Timestamps as stored: fixed-width UTC ISO-8601 strings ("2026-11-25T21:01:10.345000Z").

They sort and compare correctly as strings, read well in the database, and survive every
driver and server alike (the local MongoDB stand-in turns datetimes written by `$set` into
strings of another format, so stored datetimes would compare wrongly there).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

# The year is formatted separately: strftime's %Y does not pad years before 1000 on glibc
# ("534-07-17..."), which would break the fixed width and so the string order.
_FORMAT_AFTER_YEAR = "-%m-%dT%H:%M:%S.%fZ"


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime | None = None) -> str:
    moment = moment or now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}{moment.strftime(_FORMAT_AFTER_YEAR)}"


def stamp_in(seconds: float) -> str:
    return stamp(now() + timedelta(seconds=seconds))


def parse(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds_since(value: str | datetime) -> float:
    return (now() - parse(value)).total_seconds()
