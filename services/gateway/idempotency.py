"""`Idempotency-Key`: the same key from the same user names the same task.

A key belongs to the scope it was first used in (the route and the model): the same key and
body sent to another model is another request, refused rather than answered with the first
model's task. Keys recorded before scopes existed match any scope."""
from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.gateway.errors import Conflict
from shared.clock import stamp


class IdempotencyKeys:
    def __init__(self, db: AsyncDatabase) -> None:
        self._keys = db["idempotency_keys"]

    async def claim(self, user_id: str, key: str, scope: str, fingerprint: str, task_id: str) -> str | None:
        """Records the key for a new task; returns the earlier task's id when the key was used
        in the same scope with the same request."""
        record_id = f"{user_id}:{key}"
        try:
            await self._keys.insert_one({"_id": record_id, "task_id": task_id, "scope": scope,
                                         "fingerprint": fingerprint, "created_at": stamp()})
            return None
        except DuplicateKeyError:
            earlier = await self._keys.find_one({"_id": record_id})
        if earlier is None:  # forgotten between our insert and read: treat as new next time
            raise Conflict("Idempotency-Key is being reused concurrently; retry", code="idempotency_in_progress")
        if earlier.get("scope", scope) != scope:
            raise Conflict(f"Idempotency-Key was first used for {earlier['scope']}", code="idempotency_key_reused")
        if earlier["fingerprint"] != fingerprint:
            raise Conflict("Idempotency-Key was used with a different request", code="idempotency_key_reused")
        return earlier["task_id"]

    async def forget(self, user_id: str, key: str) -> None:
        await self._keys.delete_one({"_id": f"{user_id}:{key}"})
