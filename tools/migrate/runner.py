"""Applies versioned MongoDB migrations once, in order, whoever runs them and however often.

The `migrations` collection holds one record per applied migration (`_id` the migration's id,
`description`, `applied_at`, `duration_ms`, `applied_by`) and, while a run applies, its lease
(`_id: "_lease"`, `holder`, `until` in epoch seconds). A run takes the lease before it reads what
is pending, so two runs at once (two pods' init containers, an operator beside a Job) apply each
migration once: the second waits for the lease, then finds nothing left. A holder that dies stops
renewing it and the next run takes it after `lease_s`. Every migration is idempotent besides, so
one re-applied after a holder died half-way changes nothing it had already done.
"""
from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

COLLECTION = "migrations"
LEASE_ID = "_lease"


@dataclass(frozen=True)
class Migration:
    id: str  # NNNN_what: the order they apply in
    description: str
    apply: Callable[[AsyncDatabase], Awaitable[None]]  # idempotent


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[dict[str, Any]]  # the records in id order; `known` False: applied by a newer version
    pending: list[Migration]


class LeaseBusy(TimeoutError):
    """Another run held the migrations lease for longer than this one would wait."""


@dataclass
class Migrator:
    db: AsyncDatabase
    migrations: Sequence[Migration]
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}/{uuid.uuid4().hex[:8]}")  # pod or host
    lease_s: float = 60.0
    wait_s: float = 600.0  # how long to wait for another run's lease
    poll_s: float = 0.2

    def __post_init__(self) -> None:
        ids = [migration.id for migration in self.migrations]
        if ids != sorted(set(ids)):
            raise ValueError(f"migration ids must be unique and in order: {ids}")

    @property
    def _records(self):
        return self.db[COLLECTION]

    async def status(self) -> MigrationStatus:
        known = {migration.id for migration in self.migrations}
        records = await self._records.find({"_id": {"$ne": LEASE_ID}}).to_list(None)
        applied = sorted(({**record, "known": record["_id"] in known} for record in records), key=lambda r: r["_id"])
        done = {record["_id"] for record in applied}
        return MigrationStatus(applied, [migration for migration in self.migrations if migration.id not in done])

    async def apply_pending(self, report: Callable[[str], None] = lambda line: None) -> list[str]:
        """Applies what is pending under the lease; the ids this run applied (none: all were)."""
        applied: list[str] = []
        async with self._lease():
            for migration in (await self.status()).pending:
                started = time.monotonic()
                await migration.apply(self.db)
                duration_ms = round((time.monotonic() - started) * 1000)
                await self._records.update_one({"_id": migration.id}, {"$setOnInsert": {
                    "description": migration.description, "applied_at": datetime.now(UTC),
                    "duration_ms": duration_ms, "applied_by": self.holder}}, upsert=True)
                applied.append(migration.id)
                report(f"applied {migration.id}: {migration.description} ({duration_ms} ms)")
        return applied

    @contextlib.asynccontextmanager
    async def _lease(self) -> AsyncIterator[None]:
        deadline = time.monotonic() + self.wait_s
        while not await self._take_lease():
            if time.monotonic() > deadline:
                raise LeaseBusy(f"another migration run held the lease for over {self.wait_s:g} s")
            await asyncio.sleep(self.poll_s)
        renewing = asyncio.create_task(self._renew_lease())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await self._records.delete_one({"_id": LEASE_ID, "holder": self.holder})

    async def _take_lease(self) -> bool:
        now = time.time()
        try:
            lease = await self._records.find_one_and_update(
                {"_id": LEASE_ID, "$or": [{"until": {"$lt": now}}, {"holder": self.holder}]},
                {"$set": {"holder": self.holder, "until": now + self.lease_s}}, upsert=True,
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:  # held by another run, and not expired
            return False
        # The MongoDB stand-in answers that conflicting upsert with nothing instead of the error.
        return lease is not None and lease.get("holder") == self.holder

    async def _renew_lease(self) -> None:
        """Keeps the lease while a long migration (a backfill) runs."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            with contextlib.suppress(PyMongoError):  # a missed renewal is tried again, and the lease lasts lease_s
                await self._records.update_one({"_id": LEASE_ID, "holder": self.holder},
                                               {"$set": {"until": time.time() + self.lease_s}})
