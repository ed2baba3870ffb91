"""tools.migrate against the real MongoDB-wire server: each migration applies once, whoever runs."""
from __future__ import annotations

import ast
import asyncio
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from shared.ledger import Ledger
from shared.settings import CommonSettings
from shared.tasks import TaskStore
from tools.migrate.__main__ import run
from tools.migrate.registry import INDEXED_MODULES, INDEXED_STORES, MIGRATIONS
from tools.migrate.runner import COLLECTION, LEASE_ID, LeaseBusy, Migration, Migrator

ROOT = Path(__file__).resolve().parents[2]
IDS = [migration.id for migration in MIGRATIONS]


@pytest.fixture
async def client(infra):
    mongo = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    yield mongo
    await mongo.close()


@pytest.fixture
def db(client):
    return client[f"migrate_{secrets.token_hex(4)}"]


async def until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_run_applies_every_migration_once_and_the_next_run_nothing(db):
    assert await Migrator(db, MIGRATIONS).apply_pending() == IDS
    assert await Migrator(db, MIGRATIONS).apply_pending() == []
    records = await db[COLLECTION].find().to_list(None)
    assert [record["_id"] for record in records] == IDS  # the lease is gone with the run
    assert all(record["applied_at"] and record["description"] for record in records)
    tasks, keys = [list((await db[name].index_information()).values()) for name in ("tasks", "api_keys")]
    assert [("unsettled_since", 1)] in [index["key"] for index in tasks]
    assert [index.get("unique") for index in keys if index["key"] == [("hash", 1)]] == [True]


async def test_concurrent_runs_apply_each_migration_once(db):
    applied: list[str] = []
    refused: set[str] = set()

    class Watched(Migrator):
        async def _take_lease(self) -> bool:
            taken = await super()._take_lease()
            if not taken:
                refused.add(self.holder)
            return taken

    async def first(_db) -> None:
        applied.append("0001")
        await until(lambda: len(refused) == 2)  # both other runs are waiting on the lease meanwhile

    async def second(_db) -> None:
        applied.append("0002")

    migrations = [Migration("0001_a", "a", first), Migration("0002_b", "b", second)]
    runs = await asyncio.gather(*(Watched(db, migrations, poll_s=0.02).apply_pending() for _ in range(3)))
    assert sorted(runs) == [[], [], ["0001_a", "0002_b"]]
    assert applied == ["0001", "0002"]


async def test_the_real_migrations_run_concurrently_apply_once(db):
    runs = await asyncio.gather(*(Migrator(db, MIGRATIONS, poll_s=0.02).apply_pending() for _ in range(2)))
    assert sorted(runs) == [[], IDS]


async def test_a_dead_runs_lease_is_taken_over_and_a_live_one_waited_for(db):
    await db[COLLECTION].insert_one({"_id": LEASE_ID, "holder": "alive", "until": time.time() + 60})
    with pytest.raises(LeaseBusy):
        await Migrator(db, MIGRATIONS, wait_s=0.2, poll_s=0.05).apply_pending()
    assert (await Migrator(db, MIGRATIONS).status()).pending == list(MIGRATIONS)
    await db[COLLECTION].update_one({"_id": LEASE_ID}, {"$set": {"holder": "dead", "until": time.time() - 1}})
    assert await Migrator(db, MIGRATIONS).apply_pending() == IDS


async def test_a_long_migration_keeps_renewing_its_lease(db):
    async def lease_until() -> float:
        return (await db[COLLECTION].find_one({"_id": LEASE_ID}))["until"]

    async def long(_db) -> None:
        taken, deadline = await lease_until(), time.monotonic() + 10
        while await lease_until() <= taken:  # renewed every lease_s / 3 while this runs
            assert time.monotonic() < deadline, "the lease was not renewed"
            await asyncio.sleep(0.02)

    assert await Migrator(db, [Migration("0001_long", "long", long)], lease_s=0.3).apply_pending() == ["0001_long"]


async def test_ended_unsettled_tasks_gain_unsettled_since_and_the_sweep_finds_them(db):
    old = {"finished_at": "2026-11-01T10:00:00.000000Z", "updated_at": "2026-11-01T10:00:01.000000Z"}
    await db["tasks"].insert_many([
        {"_id": "ended", "user_id": "usr_1", "status": "FAILURE", "settled": False, **old},
        {"_id": "settled", "user_id": "usr_1", "status": "SUCCESS", "settled": True, **old},
        {"_id": "live", "user_id": "usr_1", "status": "IN_PROGRESS", "settled": False},
        {"_id": "stamped", "user_id": "usr_1", "status": "SUCCESS", "settled": False, **old,
         "unsettled_since": "2026-11-02T00:00:00.000000Z"},
    ])
    backfill = next(migration for migration in MIGRATIONS if migration.id == "0002_backfill_unsettled_since")
    for _ in range(2):  # idempotent
        await backfill.apply(db)
        stamps = {task["_id"]: task.get("unsettled_since") for task in await db["tasks"].find().to_list(None)}
        assert stamps == {"ended": old["finished_at"], "settled": None, "live": None,
                          "stamped": "2026-11-02T00:00:00.000000Z"}
    swept = await TaskStore(db).unsettled_terminal(older_than_s=0, limit=10)
    assert {task.id for task in swept} == {"ended", "stamped"}


async def test_holds_held_before_open_since_gain_it_and_count_as_open(db):
    await db["holds"].insert_many([
        {"_id": "held", "user_id": "u", "amount": 5, "state": "held", "held_at": "2000-01-01T00:00:00.000000Z",
         "lease_until": 0.0},
        {"_id": "ended", "user_id": "u", "amount": 5, "state": "captured", "held_at": "2000-01-01T00:00:00.000000Z",
         "lease_until": 0.0},
        {"_id": "stamped", "user_id": "u", "amount": 5, "state": "held", "held_at": "2000-01-01T00:00:00.000000Z",
         "open_since": "2026-12-01T00:00:00.000000Z", "lease_until": 0.0},
    ])
    migration = next(migration for migration in MIGRATIONS if migration.id == "0004_live_ledger_operations")
    for _ in range(2):  # idempotent
        await migration.apply(db)
        stamps = {hold["_id"]: hold.get("open_since") for hold in await db["holds"].find().to_list(None)}
        assert stamps == {"held": "2000-01-01T00:00:00.000000Z", "ended": None, "stamped": "2026-12-01T00:00:00.000000Z"}
    assert await Ledger(db).count_holds_open_since(3600) == 2


def declares_indexes(body: list[ast.stmt]) -> bool:
    return any(isinstance(item, ast.AsyncFunctionDef) and item.name == "ensure_indexes" for item in body)


def test_every_store_and_module_that_declares_indexes_is_in_the_initial_migration():
    stores, modules = set(), set()
    for path in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "services").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        if declares_indexes(tree.body):
            modules.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
        stores |= {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and declares_indexes(node.body)}
    assert stores == {store.__name__ for store in INDEXED_STORES}
    assert modules == {module.__name__ for module in INDEXED_MODULES}


async def test_the_command_applies_then_reports_status_and_dry_runs(infra, db, capsys):
    env = {**os.environ, "MONGODB_URL": infra.mongodb_url, "MONGODB_DATABASE": db.name}
    settings = CommonSettings(mongodb_url=infra.mongodb_url, mongodb_database=db.name)
    assert await run(settings, show_status=False, dry_run=True) == 0
    assert capsys.readouterr().out.splitlines() == [f"would apply {m.id}: {m.description}" for m in MIGRATIONS]
    done = subprocess.run([sys.executable, "-m", "tools.migrate"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == [f"applied {id_}" for id_ in IDS]
    assert await run(settings, show_status=True, dry_run=False) == 0
    status = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in status] == [["applied", id_] for id_ in IDS]
    assert await run(settings, show_status=False, dry_run=False) == 0
    assert capsys.readouterr().out.strip() == f"nothing pending ({len(IDS)} applied)"
