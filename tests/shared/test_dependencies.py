"""What the pinned dependencies must give us beyond their APIs (pyproject.toml says why each)."""
from __future__ import annotations

import importlib.abc
import sys

from httpcore._synchronization import current_async_library


class ImportSearches(importlib.abc.MetaPathFinder):
    """Records every module the import system has to search for (none found by this finder)."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(self, name, path, target=None):
        self.searched.append(name)
        return None


async def test_httpcore_learns_the_event_loop_without_an_import_search_per_request():
    """httpcore asks sniffio on each pooled request; were sniffio missing, every ask would be a
    failed import that searches sys.path (a stat per entry), on the hot path of every outbound call."""
    current_async_library()
    searches = ImportSearches()
    sys.meta_path.insert(0, searches)
    try:
        assert [current_async_library() for _ in range(3)] == ["asyncio"] * 3
    finally:
        sys.meta_path.remove(searches)
    assert searches.searched == []
