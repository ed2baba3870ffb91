"""services/gateway/workers/revocation.py against a fake token store: one query for all open
sockets, only revoked ones closed, and a revoked worker is refused at hand-out."""
from __future__ import annotations

from services.gateway.workers.revocation import REVOKED_REASON, UNAUTHORIZED, TokenRevocation


class FakeTokens:
    def __init__(self, revoked: set[str]) -> None:
        self.revoked, self.queries = revoked, []

    async def revoked_among(self, token_ids: set[str]) -> set[str]:
        self.queries.append(set(token_ids))
        return token_ids & self.revoked


class FakeWorker:
    def __init__(self, token_id: str, closed: bool = False) -> None:
        self.id, self.group, self.token_id, self.closed, self.closed_with = f"W-{token_id}", "g", token_id, closed, None

    async def close(self, code: int, reason: str) -> None:
        self.closed, self.closed_with = True, (code, reason)


async def test_one_query_for_every_open_socket_closes_only_the_revoked_ones():
    tokens = FakeTokens(revoked={"wtk_b"})
    workers = [FakeWorker("wtk_a"), FakeWorker("wtk_b"), FakeWorker("wtk_b"), FakeWorker("wtk_c", closed=True)]
    await TokenRevocation(tokens).close_revoked(workers)
    assert tokens.queries == [{"wtk_a", "wtk_b"}]  # closed sockets are not asked about
    assert [w.closed_with for w in workers[:3]] == [None, (UNAUTHORIZED, REVOKED_REASON), (UNAUTHORIZED, REVOKED_REASON)]


async def test_a_revoked_worker_is_refused_at_hand_out_and_closed():
    revocation = TokenRevocation(FakeTokens(revoked={"wtk_b"}))
    valid, revoked = FakeWorker("wtk_a"), FakeWorker("wtk_b")
    assert await revocation.still_admitted(valid) and valid.closed_with is None
    assert not await revocation.still_admitted(revoked) and revoked.closed_with == (UNAUTHORIZED, REVOKED_REASON)
