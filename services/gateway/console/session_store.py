"""Console sessions open right now, kept server-side so that logging out ends a session for good.

The signed cookie alone proves who issued it, not that it is still wanted: a copy kept from
before a logout would open the console until it expired. So login records the session's id here,
logout deletes it, and every console request checks it: one `_id` lookup. A TTL index removes
sessions past their expiry (the cookie's own expiry is still checked first)."""
from __future__ import annotations

from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.console.session import Session


class ConsoleSessions:
    def __init__(self, db: AsyncDatabase) -> None:
        self._sessions = db["console_sessions"]

    async def ensure_indexes(self) -> None:
        await self._sessions.create_index("expires_at", expireAfterSeconds=0)

    async def open(self, session: Session) -> None:
        await self._sessions.insert_one({"_id": session.sid,
                                         "expires_at": datetime.fromtimestamp(session.expires, UTC)})

    async def is_open(self, session: Session) -> bool:
        return await self._sessions.find_one({"_id": session.sid}, {"_id": 1}) is not None

    async def close(self, session: Session) -> None:
        await self._sessions.delete_one({"_id": session.sid})
