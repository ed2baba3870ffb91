"""services/gateway/workers/revocation.py against a fake token store: one query for all open
sockets, only revoked ones closed, a revoked worker is refused at hand-out, and a hand-out reads
the token only when the re-check has not confirmed it within its interval (or it was revoked here)."""
from __future__ import annotations

from types import SimpleNamespace

from services.gateway.workers import revocation as revocation_module
from services.gateway.workers.revocation import REVOKED_REASON, UNAUTHORIZED, TokenRevocation

RECHECK_S = 1.0


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
    await TokenRevocation(tokens, RECHECK_S).close_revoked(workers)
    assert tokens.queries == [{"wtk_a", "wtk_b"}]  # closed sockets are not asked about
    assert [w.closed_with for w in workers[:3]] == [None, (UNAUTHORIZED, REVOKED_REASON), (UNAUTHORIZED, REVOKED_REASON)]


async def test_a_revoked_worker_is_refused_at_hand_out_and_closed():
    revocation = TokenRevocation(FakeTokens(revoked={"wtk_b"}), RECHECK_S)
    valid, revoked = FakeWorker("wtk_a"), FakeWorker("wtk_b")
    assert await revocation.still_admitted(valid) and valid.closed_with is None
    assert not await revocation.still_admitted(revoked) and revoked.closed_with == (UNAUTHORIZED, REVOKED_REASON)


async def test_a_hand_out_reads_nothing_while_the_recheck_vouches_for_the_token(monkeypatch):
    tokens = FakeTokens(revoked=set())
    revocation, worker = TokenRevocation(tokens, RECHECK_S), FakeWorker("wtk_a")
    clock = [100.0]
    monkeypatch.setattr(revocation_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    await revocation.close_revoked([worker])
    clock[0] += RECHECK_S * 0.9
    assert await revocation.still_admitted(worker) and tokens.queries == [{"wtk_a"}]
    clock[0] += RECHECK_S * 0.2  # the confirmation is now older than the interval: read again
    assert await revocation.still_admitted(worker) and tokens.queries == [{"wtk_a"}, {"wtk_a"}]


async def test_a_token_revoked_here_is_read_again_at_the_next_hand_out(monkeypatch):
    tokens = FakeTokens(revoked=set())
    revocation, worker = TokenRevocation(tokens, RECHECK_S), FakeWorker("wtk_a")
    monkeypatch.setattr(revocation_module, "time", SimpleNamespace(monotonic=lambda: 100.0))
    await revocation.close_revoked([worker])
    tokens.revoked.add("wtk_a")
    revocation.revoked("wtk_a")
    assert not await revocation.still_admitted(worker) and worker.closed_with == (UNAUTHORIZED, REVOKED_REASON)
