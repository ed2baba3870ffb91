"""Checks of the money rules, for tests, the chaos run and operators."""
from __future__ import annotations

from collections import Counter

from pymongo.asynchronous.database import AsyncDatabase

from shared.ledger.store import OPEN_HOLD_STATES, LedgerCollections
from shared.ledger.wallet import AMOUNTS, Wallet


async def wallet_violations(db: AsyncDatabase, user_id: str) -> list[str]:
    """Every way this user's wallet breaks the money rules; empty when it is sound."""
    ledger = LedgerCollections.of(db)
    stored = await ledger.wallets.find_one({"_id": user_id})
    if stored is None:
        return [f"{user_id}: no wallet"]
    wallet = Wallet.from_document(stored)
    problems = [f"{user_id}: {problem}" for problem in wallet.violations()]
    open_holds = ledger.holds.find({"user_id": user_id, "state": {"$in": list(OPEN_HOLD_STATES)}})
    held = sum([int(h["amount"]) async for h in open_holds])
    if held != wallet.held:
        problems.append(f"{user_id}: held {wallet.held} != sum of open holds {held}")
    replay = dict.fromkeys(AMOUNTS, 0)
    async for entry in ledger.entries.find({"user_id": user_id}):
        for field in AMOUNTS:
            replay[field] += int(entry.get(field, 0))
    if replay != wallet.amounts():
        problems.append(f"{user_id}: wallet differs from its ledger replay ({replay})")
    if stored.get("pending"):
        problems.append(f"{user_id}: operations still in flight {stored['pending']}")
    return problems + await _key_spend_violations(ledger, stored)


async def _key_spend_violations(ledger: LedgerCollections, wallet: dict) -> list[str]:
    """Each key's spend on the wallet equals its open holds plus what its captured holds charged,
    with what approved reviews charged beyond them."""
    by_holds: Counter[str] = Counter()
    async for hold in ledger.holds.find({"user_id": wallet["_id"]}):
        if hold.get("key_id") and hold["state"] in OPEN_HOLD_STATES:
            by_holds[hold["key_id"]] += int(hold["amount"])
        elif hold.get("key_id") and hold["state"] == "captured":
            by_holds[hold["key_id"]] += int(hold.get("charged", 0))
    async for charge in ledger.review_charges.find({"user_id": wallet["_id"], "state": "applied"}):
        if charge.get("key_id"):
            by_holds[charge["key_id"]] += int(charge.get("charged", 0))
    on_wallet = Counter({key_id: int(spend.get("spent", 0)) for key_id, spend in (wallet.get("keys") or {}).items()})
    return [f"{wallet['_id']}: key {key_id} spent {on_wallet[key_id]} != its holds' {by_holds[key_id]}"
            for key_id in sorted(set(on_wallet) | set(by_holds)) if on_wallet[key_id] != by_holds[key_id]]
