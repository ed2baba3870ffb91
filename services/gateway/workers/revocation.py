"""Revocation reaches open sockets: a worker token disabled or deleted closes every socket it
opened, on every gateway instance, within `WORKER_TOKEN_RECHECK_S` (each gateway re-reads the
tokens of all its open sockets in one query), and no socket is handed a task once its token is
revoked (the dispatcher asks again before a claimed task leaves the process)."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from services.gateway.workers.tokens import WorkerTokenRepository

if TYPE_CHECKING:
    from services.gateway.workers.connection import WorkerConnection

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401  # the close code of a socket without (or no longer with) a valid token
REVOKED_REASON = "worker token revoked"


class TokenRevocation:
    def __init__(self, tokens: WorkerTokenRepository) -> None:
        self._tokens = tokens

    async def close_revoked(self, workers: Iterable[WorkerConnection]) -> None:
        """Every `WORKER_TOKEN_RECHECK_S`: closes the sockets whose token is no longer valid."""
        open_sockets = [worker for worker in workers if not worker.closed]
        revoked = await self._tokens.revoked_among({worker.token_id for worker in open_sockets})
        for worker in open_sockets:
            if worker.token_id in revoked:
                log.info("closing worker %s of group %s: its token %s was revoked", worker.id, worker.group,
                         worker.token_id)
                await worker.close(UNAUTHORIZED, REVOKED_REASON)

    async def still_admitted(self, worker: WorkerConnection) -> bool:
        """Asked before a claimed task is sent: one `_id` read per dispatched task, none per idle poll."""
        if await self._tokens.revoked_among({worker.token_id}):
            await worker.close(UNAUTHORIZED, REVOKED_REASON)
            return False
        return True
