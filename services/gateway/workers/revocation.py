"""Revocation reaches open sockets: a worker token disabled or deleted closes every socket it
opened, on every gateway instance: at once on the gateway whose admin API revoked it, within a
signal's fetch wait on the others (workers/signals.py), and, should that signal be lost, within
`WORKER_TOKEN_RECHECK_S` (each gateway re-reads the tokens of all its open sockets in one query).
No socket is handed a task once its token is known revoked.

Before a claimed task leaves the process the dispatcher asks `still_admitted`. That answer comes
from the last read of the token while it is younger than `TRUSTED_FOR_S`, else from a new read; a
revocation heard of forgets the confirmation. So a busy dispatcher reads each token at most once a
second (it was one `worker_tokens` read per task), an idle one never, and a socket whose token was
revoked on another gateway is handed no task more than a second after the revocation, even should
the signal be lost."""
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
TRUSTED_FOR_S = 1.0  # how long a read of a token vouches for it at hand-out


class TokenRevocation:
    def __init__(self, tokens: WorkerTokenRepository, trusted_for_s: float = TRUSTED_FOR_S) -> None:
        self._tokens, self._trusted_for_s = tokens, trusted_for_s
        self._confirmed: dict[str, float] = {}  # token id -> when (monotonic) it was last read valid

    async def close_revoked(self, workers: Iterable[WorkerConnection]) -> None:
        """Every `WORKER_TOKEN_RECHECK_S`: closes the sockets whose token is no longer valid."""
        open_sockets = [worker for worker in workers if not worker.closed]
        token_ids = {worker.token_id for worker in open_sockets}
        revoked = await self._read(token_ids)
        self._confirmed = {token_id: at for token_id, at in self._confirmed.items() if token_id in token_ids}
        for token_id in revoked:
            await self.close_token(token_id, open_sockets)

    async def still_admitted(self, worker: WorkerConnection) -> bool:
        """Asked before a claimed task is sent: reads the token only when its last confirmation is
        older than `TRUSTED_FOR_S`."""
        confirmed = self._confirmed.get(worker.token_id)
        if confirmed is not None and time.monotonic() - confirmed < self._trusted_for_s:
            return True
        if await self._read({worker.token_id}):
            await worker.close(UNAUTHORIZED, REVOKED_REASON)
            return False
        return True

    async def close_token(self, token_id: str, workers: Iterable[WorkerConnection]) -> None:
        """The token is known revoked (this gateway's admin API, or another's signal): its sockets
        here are closed and get no task from now on."""
        self._confirmed.pop(token_id, None)
        for worker in workers:
            if worker.token_id == token_id and not worker.closed:
                log.info("closing worker %s of group %s: its token %s was revoked", worker.id, worker.group, token_id)
                await worker.close(UNAUTHORIZED, REVOKED_REASON)

    async def _read(self, token_ids: set[str]) -> set[str]:
        """The revoked ones among `token_ids`; the others are confirmed as of the read's start."""
        started = time.monotonic()
        revoked = await self._tokens.revoked_among(token_ids)
        for token_id in token_ids - revoked:
            self._confirmed[token_id] = started
        for token_id in revoked:
            self._confirmed.pop(token_id, None)
        return revoked
