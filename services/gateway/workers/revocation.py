"""Revocation reaches open sockets: a worker token disabled or deleted closes every socket it
opened, on every gateway instance, within `WORKER_TOKEN_RECHECK_S` (each gateway re-reads the
tokens of all its open sockets in one query), and no socket is handed a task once its token is
known revoked: at once on the gateway whose admin API revoked it, within the same bound on the
others.

Before a claimed task leaves the process the dispatcher asks `still_admitted`. That answer comes
from the last read of the token when it is younger than the re-check interval: the re-check
confirms every open socket's token each interval, so under load a dispatch reads nothing (it was one
`worker_tokens` read per task), and a read it would make could not be fresher than the bound the
re-check already promises."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from services.gateway.workers.tokens import WorkerTokenRepository

if TYPE_CHECKING:
    from services.gateway.workers.connection import WorkerConnection

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401  # the close code of a socket without (or no longer with) a valid token
REVOKED_REASON = "worker token revoked"


class TokenRevocation:
    def __init__(self, tokens: WorkerTokenRepository, recheck_s: float) -> None:
        self._tokens, self._recheck_s = tokens, recheck_s
        self._confirmed: dict[str, float] = {}  # token id -> when (monotonic) it was last read valid

    async def close_revoked(self, workers: Iterable[WorkerConnection]) -> None:
        """Every `WORKER_TOKEN_RECHECK_S`: closes the sockets whose token is no longer valid."""
        open_sockets = [worker for worker in workers if not worker.closed]
        token_ids = {worker.token_id for worker in open_sockets}
        revoked = await self._read(token_ids)
        self._confirmed = {token_id: at for token_id, at in self._confirmed.items() if token_id in token_ids}
        for worker in open_sockets:
            if worker.token_id in revoked:
                log.info("closing worker %s of group %s: its token %s was revoked", worker.id, worker.group,
                         worker.token_id)
                await worker.close(UNAUTHORIZED, REVOKED_REASON)

    async def still_admitted(self, worker: WorkerConnection) -> bool:
        """Asked before a claimed task is sent: reads the token only when its last confirmation is
        older than the re-check interval."""
        confirmed = self._confirmed.get(worker.token_id)
        if confirmed is not None and time.monotonic() - confirmed < self._recheck_s:
            return True
        if await self._read({worker.token_id}):
            await worker.close(UNAUTHORIZED, REVOKED_REASON)
            return False
        return True

    def revoked(self, token_id: str) -> None:
        """This gateway's admin API disabled or deleted the token: its sockets here get no task from
        now on (the next re-check closes them)."""
        self._confirmed.pop(token_id, None)

    async def _read(self, token_ids: set[str]) -> set[str]:
        """The revoked ones among `token_ids`; the others are confirmed as of the read's start."""
        started = time.monotonic()
        revoked = await self._tokens.revoked_among(token_ids)
        for token_id in token_ids - revoked:
            self._confirmed[token_id] = started
        for token_id in revoked:
            self._confirmed.pop(token_id, None)
        return revoked
