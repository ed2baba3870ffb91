"""The gateway with two faults of its own, for tests of what an error no handler takes does:
`GET /_faults/fail` raises, and the first store of a task whose body contains `FAIL_ONCE` raises
a database error (as a MongoDB hiccup would), before the task exists.

    python -m tests.gateway.faulty_gateway    # started by the tests, as `python -m services.gateway`
"""
from __future__ import annotations

from fastapi import FastAPI
from pymongo.errors import PyMongoError

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.service_main import run_service
from shared.task_record import Task
from shared.tasks import TaskStore

FAIL_PATH = "/_faults/fail"
FAIL_ONCE = "fail-the-first-store"


def create_faulty_app(settings: GatewaySettings) -> FastAPI:
    app = create_app(settings)

    async def fail() -> None:
        raise RuntimeError("a fault the test asked for")

    app.add_api_route(FAIL_PATH, fail, methods=["GET"])
    return app


def fail_first_stores() -> None:
    failed: set[str] = set()
    insert = TaskStore.insert

    async def insert_or_fail(self: TaskStore, task: Task, next_poll_at: str | None = None) -> None:
        body = (task.request or {})["body"]
        if FAIL_ONCE in body and body not in failed:
            failed.add(body)
            raise PyMongoError("a fault the test asked for")
        await insert(self, task, next_poll_at)

    TaskStore.insert = insert_or_fail


if __name__ == "__main__":
    fail_first_stores()
    run_service("gateway", GatewaySettings, create_faulty_app, lambda s: s.gateway_port)
