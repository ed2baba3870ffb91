"""Issue 19, item 1: one repository per collection, the only module that names it. A module that
needs another read or write of a collection asks that repository for it."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `db["tasks"]`, `db.tasks.find(...)`, `get_collection("tasks")`, `COLLECTION = "consumption_logs"`.
NAMED = re.compile(r"""\bdb\s*\[\s*["'](\w+)["']\s*\]|\bdb\.(\w+)\.\w+\(|get_collection\(\s*["'](\w+)["']"""
                   r"""|^COLLECTION\s*=\s*["'](\w+)["']""")


def collections_named() -> dict[str, set[str]]:
    named: dict[str, set[str]] = defaultdict(set)
    for folder in ("shared", "services"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line in path.read_text().splitlines():
                for match in NAMED.finditer(line):
                    named[next(group for group in match.groups() if group)].add(path.relative_to(ROOT).as_posix())
    return named


def test_each_collection_is_named_by_one_module():
    named = collections_named()
    assert {"tasks", "channels", "users", "wallets", "holds", "consumption_logs"} <= set(named)
    shared = {collection: sorted(modules) for collection, modules in named.items() if len(modules) > 1}
    assert not shared, f"named by more than one module: {shared}"


def test_the_scan_sees_each_way_of_naming_a_collection():
    lines = ['self._tasks = db["tasks"]', "await db.tasks.find_one({})", 'db.get_collection("tasks")',
             'COLLECTION = "consumption_logs"']
    assert [next(g for g in NAMED.search(line).groups() if g) for line in lines] == ["tasks"] * 3 + ["consumption_logs"]
