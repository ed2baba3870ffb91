"""The migrations, in the order they apply. Append only: a released migration keeps its id and
what it does (0001: create the indexes the stores declare, whichever those are when it runs).

Indexes stay declared where the queries they serve are, in each store's `ensure_indexes`
(`INDEXED_STORES` and `INDEXED_MODULES` name them all, and tests/tools/test_migrate.py fails on
one missing from them); 0001 creates them on a database, and the services still call their own stores'
`ensure_indexes` at start (an idempotent `createIndexes`), so `make run` and a fresh database need
no extra step. An index added to a store later also needs a migration here (databases that ran
0001 already): one calling that store's `ensure_indexes`, so it is built before the rollout
instead of while the new pods start.
"""
from __future__ import annotations

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.console.session_store import ConsoleSessions
from shared.users import UserRepository
from services.gateway.webhook_receipts import WebhookReceipts
from services.gateway.workers.queue import WorkQueue
from services.gateway.workers.registry import WorkerRegistry
from services.gateway.workers.tokens import WorkerTokenRepository
from services.poller.late_watch import LateWatches
from shared import hourly_stats
from shared.channels import ChannelRepository
from shared.clock import stamp
from shared.ledger import Ledger
from shared.status import TaskStatus
from shared.tasks import TaskStore
from shared.webhook_deliveries import WebhookDeliveries
from tools.migrate.runner import Migration

INDEXED_STORES = (TaskStore, Ledger, WebhookDeliveries, UserRepository, ChannelRepository, WorkerTokenRepository,
                  WebhookReceipts, WorkQueue, WorkerRegistry, LateWatches, ConsoleSessions)
INDEXED_MODULES = (hourly_stats,)  # those declaring theirs in a module-level ensure_indexes(db)
BATCH = 500


async def create_initial_indexes(db: AsyncDatabase) -> None:
    for store in INDEXED_STORES:
        # WorkerRegistry's other arguments name this process's workers: unused by its indexes.
        await (store(db, "migrate", 0.0) if store is WorkerRegistry else store(db)).ensure_indexes()
    for module in INDEXED_MODULES:
        await module.ensure_indexes(db)


async def backfill_unsettled_since(db: AsyncDatabase) -> None:
    """Tasks that ended unsettled before `finish` stamped `unsettled_since` lack it, and the
    settlement sweep (`TaskStore.unsettled_terminal`) reads only that field's index: stamped with
    when they ended, it finds them. A task settled meanwhile is left alone (the guard on `settled`)."""
    lacking = {"status": {"$in": [status.value for status in TaskStatus if status.is_terminal]},
               "settled": {"$ne": True}, "unsettled_since": {"$exists": False}}
    tasks = db["tasks"]
    found = await tasks.find(lacking, {"finished_at": 1, "updated_at": 1}).to_list(None)
    for start in range(0, len(found), BATCH):
        await tasks.bulk_write([
            UpdateOne({"_id": task["_id"], **lacking},
                      {"$set": {"unsettled_since": task.get("finished_at") or task.get("updated_at") or stamp()}})
            for task in found[start:start + BATCH]], ordered=False)


async def create_review_indexes(db: AsyncDatabase) -> None:
    """The tasks' index on their settlement review (GET /admin/reviews) and the ledger's on the
    review charges' recovery (`Ledger.recover`)."""
    await TaskStore(db).ensure_indexes()
    await Ledger(db).ensure_indexes()


async def index_live_ledger_operations(db: AsyncDatabase) -> None:
    """The ledger's indexes on `lease_until` and `open_since`, which billing's recovery sweep and
    its count of holds open too long read (`Ledger.recover`, `Ledger.count_holds_open_since`), and
    `open_since` on holds placed before it was stamped: when they were held. A hold that ended
    meanwhile is left alone (the guard on its state)."""
    await Ledger(db).ensure_indexes()
    lacking = {"state": "held", "open_since": {"$exists": False}}
    holds = db["holds"]
    found = await holds.find(lacking, {"held_at": 1, "created_at": 1}).to_list(None)
    for start in range(0, len(found), BATCH):
        await holds.bulk_write([
            UpdateOne({"_id": hold["_id"], **lacking},
                      {"$set": {"open_since": hold.get("held_at") or hold.get("created_at") or stamp()}})
            for hold in found[start:start + BATCH]], ordered=False)


MIGRATIONS = (
    Migration("0001_initial_indexes", "every index the services' stores declare", create_initial_indexes),
    Migration("0002_backfill_unsettled_since", "stamp unsettled_since on ended, unsettled tasks that lack it",
              backfill_unsettled_since),
    Migration("0003_review_indexes", "index the tasks' settlement reviews and the review charges' recovery",
              create_review_indexes),
    Migration("0004_live_ledger_operations", "index the ledger's live operations and stamp open holds' open_since",
              index_live_ledger_operations),
)
