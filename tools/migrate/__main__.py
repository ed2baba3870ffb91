"""python -m tools.migrate [--status | --dry-run]: applies pending migrations to the database
MONGODB_URL / MONGODB_DATABASE name (shared.settings.CommonSettings), printing what it did."""
from __future__ import annotations

import argparse
import asyncio
import sys

from pymongo.errors import PyMongoError

from shared.mongo import connect
from shared.settings import CommonSettings
from tools.migrate.registry import MIGRATIONS
from tools.migrate.runner import LeaseBusy, MigrationStatus, Migrator


def status_lines(status: MigrationStatus) -> list[str]:
    lines = [f"applied  {record['_id']}  {record['applied_at']:%Y-%m-%dT%H:%M:%SZ}  {record.get('description', '')}"
             + ("" if record["known"] else "  (unknown to this version)") for record in status.applied]
    return lines + [f"pending  {migration.id}  {migration.description}" for migration in status.pending]


async def run(settings: CommonSettings, show_status: bool, dry_run: bool) -> int:
    client, db = connect(settings)
    migrator = Migrator(db, MIGRATIONS)
    try:
        if show_status or dry_run:
            status = await migrator.status()
            lines = status_lines(status) if show_status else \
                [f"would apply {migration.id}: {migration.description}" for migration in status.pending]
            print("\n".join(lines or ["nothing pending"]))
            return 0
        if not await migrator.apply_pending(report=lambda line: print(line, flush=True)):
            print(f"nothing pending ({len(MIGRATIONS)} applied)")
        return 0
    except (LeaseBusy, PyMongoError) as exc:  # what applied stays recorded: the next run goes on from there
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.migrate", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--status", action="store_true", help="list applied and pending migrations, apply nothing")
    mode.add_argument("--dry-run", action="store_true", help="list what a run would apply, apply nothing")
    args = parser.parse_args(argv)
    return asyncio.run(run(CommonSettings(), args.status, args.dry_run))


if __name__ == "__main__":
    sys.exit(main())
