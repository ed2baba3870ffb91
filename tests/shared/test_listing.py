"""shared/listing.py: a period is a stamp range, `since` included, `until` excluded; the names behind
a page's ids are one read."""
from __future__ import annotations

from datetime import datetime

from shared.clock import stamp
from shared.listing import names_by_id, within


def test_a_period_bounds_only_the_ends_given_and_reads_a_naive_time_as_utc():
    since, until = datetime(2026, 12, 1, 8), datetime(2026, 12, 2, 8)
    assert within(None, None) == {}
    assert within(since, None) == {"$gte": "2026-12-01T08:00:00.000000Z"}
    assert within(None, until) == {"$lt": stamp(until)}
    assert within(since, until) == {"$gte": stamp(since), "$lt": "2026-12-02T08:00:00.000000Z"}


class _Named:
    """A collection of three documents, one without a name, counting the reads it answers."""
    def __init__(self) -> None:
        self.reads: list[tuple[dict, dict]] = []
        self.docs = [{"_id": "a", "name": "Alice"}, {"_id": "b", "name": ""}, {"_id": "c", "name": "Carol"}]

    def find(self, query, projection):
        self.reads.append((query, projection))
        return self._matching(query["_id"]["$in"])

    async def _matching(self, ids):
        for doc in self.docs:
            if doc["_id"] in ids:
                yield doc


async def test_names_are_one_read_of_the_ids_held_and_a_nameless_document_is_named_by_its_id():
    collection = _Named()
    assert await names_by_id(collection, ["c", None, "a", "b", "a", "gone", ""]) == {"a": "Alice", "b": "b", "c": "Carol"}
    assert collection.reads == [({"_id": {"$in": ["a", "b", "c", "gone"]}}, {"name": 1})]
    assert await names_by_id(collection, [None, ""]) == {} and len(collection.reads) == 1  # no ids: no read
