"""services/gateway/workers/signals.py: a gateway acts on the dispatch signals of the others (work
queued in a group wakes its idle workers there; a revoked token closes its sockets there) and skips
its own, which it acted on when it sent them."""
from __future__ import annotations

from services.gateway.workers.signals import DispatchSignals
from shared import topics
from shared.events import WorkerTokenRevoked, WorkQueued
from shared.settings import CommonSettings


def _signals() -> tuple[DispatchSignals, list[str], list[str]]:
    woken, revoked = [], []

    async def on_revoked(token_id: str) -> None:
        revoked.append(token_id)
    return DispatchSignals(CommonSettings(), "gateway/here", woken.append, on_revoked), woken, revoked


async def test_another_gateways_signals_wake_its_group_and_close_the_revoked_tokens_sockets():
    signals, woken, revoked = _signals()
    await signals.heard(WorkQueued(correlation_id="gpu", group="gpu", producer="gateway/there").model_dump(mode="json"))
    await signals.heard(WorkerTokenRevoked(correlation_id="wtk_1", token_id="wtk_1",
                                           producer="gateway/there").model_dump(mode="json"))
    assert (woken, revoked) == (["gpu"], ["wtk_1"])


async def test_its_own_signals_and_malformed_ones_are_skipped():
    signals, woken, revoked = _signals()
    await signals.heard(WorkQueued(correlation_id="gpu", group="gpu", producer="gateway/here").model_dump(mode="json"))
    await signals.heard({"type": topics.WORK_QUEUED, "group": 7, "producer": "gateway/there"})
    await signals.heard({"type": "something.else", "producer": "gateway/there"})
    assert (woken, revoked) == ([], [])
