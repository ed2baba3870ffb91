"""Entry points parse and delegate: no route or console module names a MongoDB collection or
queries one itself; each reads through a repository (shared/task_reads.py, shared/consumption.py,
the Ledger, the gateway's repositories), so every list's filter and page is written once."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parents[2] / "services" / "gateway"

# Naming a collection (`db["tasks"]`, `db[collection]`, `get_collection`), or querying one: the
# pymongo calls, also through a repository's own collection (`deps.tasks.tasks.find(...)`).
TOUCHES_A_COLLECTION = re.compile(
    r"\bdb\s*\[|\.get_collection\(|\.(find|find_one|find_one_and_\w+|count_documents|estimated_document_count"
    r"|aggregate|distinct|insert_one|insert_many|update_one|update_many|replace_one|delete_one|delete_many"
    r"|bulk_write)\(")

# Modules of these folders that are repositories themselves, not entry points. Nothing else may
# stay: a page or route that needs a new read adds a repository method instead.
ALLOWED = {
    # The console's server-side sessions: the one module that names `console_sessions`.
    "console/session_store.py",
}
ENTRY_POINTS = sorted(module for folder in ("routes", "console") for module in (GATEWAY / folder).glob("*.py")
                      if f"{folder}/{module.name}" not in ALLOWED)


def test_the_allow_list_names_modules_that_exist():
    assert all((GATEWAY / module).is_file() for module in ALLOWED)


@pytest.mark.parametrize("module", ENTRY_POINTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_route_or_console_module_names_or_queries_a_collection(module: Path):
    found = [f"{module.name}:{number}: {line.strip()}" for number, line in enumerate(module.read_text().splitlines(), 1)
             if TOUCHES_A_COLLECTION.search(line)]
    assert not found, "read through a repository method instead:\n" + "\n".join(found)


@pytest.mark.parametrize("line", ['logs = deps.db["consumption_logs"]', "db[collection].find(query)",
                                  "await deps.tasks.tasks.count_documents(query)", "await logs.aggregate([",
                                  "rows = await tasks.find(query).sort('created_at', -1)"])
def test_the_scan_sees_a_collection_named_or_queried(line: str):
    assert TOUCHES_A_COLLECTION.search(line)


@pytest.mark.parametrize("line", ["rows, total = await TaskReads(deps.db).page(wanted, limit, offset)",
                                  "user = await deps.users.find_key(token)", "names=await names_in(deps.users, deps.channels, rows)"])
def test_the_scan_lets_repository_calls_pass(line: str):
    assert not TOUCHES_A_COLLECTION.search(line)
