"""services/gateway/workers/revocation.py against a fake token store: one query for all open
sockets, only revoked ones closed, a revoked worker is refused at hand-out, a hand-out reads the
token only when no read of the last second vouches for it, and a token known revoked (this admin
API, another gateway's signal) closes its sockets without a read."""
from __future__ import annotations

from types import SimpleNamespace

from services.gateway.workers import revocation as revocation_module
from services.gateway.workers.revocation import REVOKED_REASON, UNAUTHORIZED, TokenRevocation

TRUSTED_S = 1.0


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
    await TokenRevocation(tokens, TRUSTED_S).close_revoked(workers)
    assert tokens.queries == [{"wtk_a", "wtk_b"}]  # closed sockets are not asked about
    assert [w.closed_with for w in workers[:3]] == [None, (UNAUTHORIZED, REVOKED_REASON), (UNAUTHORIZED, REVOKED_REASON)]


async def test_a_revoked_worker_is_refused_at_hand_out_and_closed():
    revocation = TokenRevocation(FakeTokens(revoked={"wtk_b"}), TRUSTED_S)
    valid, revoked = FakeWorker("wtk_a"), FakeWorker("wtk_b")
    assert await revocation.still_admitted(valid) and valid.closed_with is None
    assert not await revocation.still_admitted(revoked) and revoked.closed_with == (UNAUTHORIZED, REVOKED_REASON)


async def test_a_hand_out_reads_nothing_while_a_recent_read_vouches_for_the_token(monkeypatch):
    tokens = FakeTokens(revoked=set())
    revocation, worker = TokenRevocation(tokens, TRUSTED_S), FakeWorker("wtk_a")
    clock = [100.0]
    monkeypatch.setattr(revocation_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    await revocation.close_revoked([worker])
    clock[0] += TRUSTED_S * 0.9
    assert await revocation.still_admitted(worker) and tokens.queries == [{"wtk_a"}]
    clock[0] += TRUSTED_S * 0.2  # the confirmation is now older than a second: read again
    assert await revocation.still_admitted(worker) and tokens.queries == [{"wtk_a"}, {"wtk_a"}]


async def test_a_token_known_revoked_closes_its_sockets_without_a_read_and_is_read_again_at_hand_out(monkeypatch):
    tokens = FakeTokens(revoked=set())
    revocation = TokenRevocation(tokens, TRUSTED_S)
    mine, same_token_closed, other = FakeWorker("wtk_a"), FakeWorker("wtk_a", closed=True), FakeWorker("wtk_b")
    monkeypatch.setattr(revocation_module, "time", SimpleNamespace(monotonic=lambda: 100.0))
    await revocation.close_revoked([mine, other])
    tokens.revoked.add("wtk_a")
    await revocation.close_token("wtk_a", [mine, same_token_closed, other])  # this admin API, or a signal
    assert (mine.closed_with, same_token_closed.closed_with, other.closed_with) == ((UNAUTHORIZED, REVOKED_REASON), None, None)
    assert tokens.queries == [{"wtk_a", "wtk_b"}]  # no read of its own
    late = FakeWorker("wtk_a")  # a socket the signal did not reach (say, it opened meanwhile)
    assert not await revocation.still_admitted(late) and late.closed_with == (UNAUTHORIZED, REVOKED_REASON)
