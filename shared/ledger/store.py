"""Money operations on MongoDB, each idempotent by a deterministic id.

The pattern: an operation is a document first (`holds`, `topups`, `review_charges`: an
approved review's charge beyond a capped capture), inserted with its
deterministic id; the wallet is changed by one conditional update that also records the
operation id in `wallet.pending`; the operation is marked done; the id is pulled from `pending`.

One more rule closes the races the recipe leaves open: only the holder of an operation's lease
(a token with an expiry, set atomically on the operation document) may run its steps. A second
delivery of the same operation waits for the lease holder and answers from the final state; a
crashed holder's lease expires and the next attempt (a redelivery or the recovery sweep) resumes
where it stopped: an id still in `wallet.pending` means the wallet step already happened.

A holder can also merely stall past its lease (a paused process) while another finishes its
operation and pulls the id. So the pull moves the id to `wallet.done`, the last DONE_KEPT ids,
and a wallet step applies only when its id is in neither list: the stalled holder, waking, finds
its step done instead of applying it a second time. A void that cancels a placement which has not
reached the wallet bars it the same way (`<hold id>:barred` in `wallet.done`): the placement's
wallet step applies only while that id is absent, so a placer that stalled past its lease and wakes
after the cancellation holds nothing.

Per user, after every completed operation: available + held + used == credited, held == sum of
open holds, available >= 0. Uncoverable shortfalls are recorded in `debt`, outside that sum.
Per API key (`keys.<key_id>.spent` on the wallet, changed by the same updates): spent == its
open holds + what its captured holds charged, and never above the key's quota when it has one.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.clock import now, stamp, stamp_in
from shared.config_cache import ConfigCache
from shared.ledger.rules import CaptureSplit, capture_split, hold_rejection
from shared.ledger.writes import (
    DONE_KEPT, bar_id, capture_entry, capture_inc, captured_fields, chosen_split, end_entry,
    end_fields, end_inc, end_op, ends_usually, entry_upsert, key_spent_field, placement_entry,
    placement_inc, release_step, review_op_id, void_entry, void_inc, voided_fields, wallet_step,
    wallet_steps_together)
from shared.ledger.wallet import AMOUNTS, Wallet
from shared.listing import newest_first
from shared.users import UserRepository

OPEN_HOLD_STATES = ("held", "capturing", "voiding")
IN_FLIGHT_STATES = ("pending", "capturing", "voiding")
ENDED_STATES = ("captured", "voided")
# Set inside `Ledger.releasing_together`: the wallet ids to release when the block ends, per user.
_released_later: contextvars.ContextVar[dict[str, list[str]] | None] = contextvars.ContextVar(
    "released_later", default=None)


@dataclass(frozen=True)
class KeySpend:
    """The API key a hold is spent by, and the most that key may spend in all (None: no limit)."""
    key_id: str
    quota: int | None = None


@dataclass(frozen=True)
class HoldOutcome:
    hold_id: str
    placed: bool
    amount: int
    reason: str | None = None


@dataclass(frozen=True)
class SettleOutcome:
    hold_id: str
    outcome: str  # captured | voided | nothing (the hold never held money)
    hold: int
    charged: int
    refunded: int
    debt: int
    repeated: bool = False  # the hold had ended before this call: it changed nothing


@dataclass(frozen=True)
class Placement:
    """A hold to place: `amount` moved from the user's available quota to held, spent by `key`."""
    hold_id: str
    user_id: str
    amount: int
    key: KeySpend | None = None


@dataclass(frozen=True)
class HoldEnd:
    """How one hold is to end: `cost` None voids it (a full refund), else it captures `cost`."""
    hold_id: str
    user_id: str
    cost: int | None = None


@dataclass(frozen=True)
class ReviewChargeOutcome:
    """An approved review's charge beyond the capped capture: `charged` left `available` (to
    `used`), `debt` is what the wallet could not cover."""
    op_id: str
    charged: int
    debt: int
    repeated: bool = False  # charged before this call: it changed nothing


@dataclass(frozen=True)
class TopupOutcome:
    op_id: str
    applied: bool
    wallet: Wallet | None


class LeaseBusy(Exception):
    """Another worker holds the operation's lease past our patience; a retry will resume it."""


@dataclass(frozen=True)
class LedgerCollections:
    """The ledger's collections, named here only (the ledger and its audit, invariants.py, read them)."""
    wallets: AsyncCollection
    holds: AsyncCollection
    topups: AsyncCollection
    review_charges: AsyncCollection
    entries: AsyncCollection

    @classmethod
    def of(cls, db: AsyncDatabase) -> LedgerCollections:
        return cls(wallets=db["wallets"], holds=db["holds"], topups=db["topups"],
                   review_charges=db["review_charges"], entries=db["ledger"])


class Ledger:
    def __init__(self, db: AsyncDatabase, *, lease_s: float = 5.0, users: ConfigCache | None = None) -> None:
        """`users`: where placements read the user's standing (status, membership) through, for
        at most its TTL (billing passes one: the same bound as the gateway's); none: every time."""
        self._db = db
        self._user_cache = users or ConfigCache(0)
        stored = LedgerCollections.of(db)
        self._wallets, self._holds, self._topups = stored.wallets, stored.holds, stored.topups
        self._review_charges, self._entries = stored.review_charges, stored.entries
        self._users = UserRepository(db, self._user_cache)
        self._lease_s = lease_s

    async def ensure_indexes(self) -> None:
        # `recover` and the stale-holds count read one bounded range of a field only live
        # operations have (see `_expired`, `count_holds_open_since`): on the MongoDB stand-in a
        # query on `state` reads every operation ever stored.
        for operations in (self._holds, self._topups, self._review_charges):
            await operations.create_index([("lease_until", 1)])
        await self._holds.create_index([("open_since", 1)])
        await self._holds.create_index([("user_id", 1)])
        await self._entries.create_index([("user_id", 1)])

    # --- wallets -----------------------------------------------------------------------
    async def open_wallet(self, user_id: str) -> None:
        """Creates the empty wallet of a new user; repeating it is harmless."""
        await self._wallets.update_one(
            {"_id": user_id},
            {"$setOnInsert": {**Wallet().amounts(), "pending": []}},
            upsert=True,
        )

    async def wallet(self, user_id: str) -> Wallet | None:
        doc = await self._wallets.find_one({"_id": user_id}, dict.fromkeys(AMOUNTS, 1))
        return None if doc is None else Wallet.from_document(doc)

    async def wallets(self, user_ids: list[str]) -> dict[str, Wallet]:
        """The wallets of many users (a page of them) in one query, by user id; a user without a
        wallet is absent. Only the amounts are read, not the ids of recent operations."""
        found = self._wallets.find({"_id": {"$in": user_ids}}, dict.fromkeys(AMOUNTS, 1))
        return {doc["_id"]: Wallet.from_document(doc) async for doc in found}

    async def _available(self, user_id: str) -> int:
        """What a shortfall may take from the wallet now (nothing when there is no wallet)."""
        return (await self.wallet(user_id) or Wallet()).available

    async def key_spent(self, user_id: str, key_id: str) -> int:
        """What the key has spent of its user's quota: its open holds plus what they charged."""
        doc = await self._wallets.find_one({"_id": user_id}, {"keys": 1})
        return int(((doc or {}).get("keys") or {}).get(key_id, {}).get("spent", 0))

    async def _start_key_spend(self, user_id: str, key_id: str) -> None:
        """A quota guard compares the key's spend, so the field must exist before the first one."""
        await self._wallets.update_one({"_id": user_id, key_spent_field(key_id): {"$exists": False}},
                                       {"$set": {key_spent_field(key_id): 0}})

    # --- holds -------------------------------------------------------------------------
    async def place_hold(self, hold_id: str, user_id: str, amount: int, key: KeySpend | None = None) -> HoldOutcome:
        token = secrets.token_hex(8)
        hold = self._new_hold(Placement(hold_id, user_id, amount, key), token)
        try:
            await self._holds.insert_one(hold)
        except DuplicateKeyError:
            return await self._place_existing(hold_id)
        # A hold this call created has never been applied: no need to ask the wallet.
        return await self._finish_placement(hold, token, maybe_applied=False)

    async def _place_existing(self, hold_id: str) -> HoldOutcome:
        """A placement whose hold exists: resumed if it is still pending, else answered as it ended."""
        token = secrets.token_hex(8)
        doc = await self._claim(self._holds, hold_id, ("pending",), token)
        if doc is None:
            return _hold_outcome(await self._holds.find_one({"_id": hold_id}))
        return await self._finish_placement(doc, token, maybe_applied=True)

    def _new_hold(self, placement: Placement, token: str) -> dict[str, Any]:
        key = placement.key
        return {"_id": placement.hold_id, "user_id": placement.user_id, "amount": placement.amount,
                "state": "pending", **({"key_id": key.key_id, "key_quota": key.quota} if key else {}),
                "lease": token, "lease_until": time.time() + self._lease_s, "created_at": stamp()}

    async def place_holds(self, placements: list[Placement]) -> list[HoldOutcome]:
        """Places many holds together, answering in the order of `placements`. The usual ones (a
        new hold of an active user, its key without a quota) take the steps of `place_hold` in
        the same order, each step one bulk write for all of them: a crash between two steps leaves
        each hold where the one-at-a-time way would have, for `recover` to finish.

        The rest goes the one-at-a-time way: a hold that exists already, a user who may not hold,
        a key with a quota, a second placement of one hold in the batch (after the first), and a
        wallet step the bulk write did not take (short of quota, or barred by a void)."""
        if len(placements) == 1:  # one alone: `place_hold` takes fewer commands than a bulk write of one
            placement = placements[0]
            return [await self.place_hold(placement.hold_id, placement.user_id, placement.amount, placement.key)]
        firsts: dict[str, Placement] = {}
        for placement in placements:
            firsts.setdefault(placement.hold_id, placement)
        token = secrets.token_hex(8)
        new = [self._new_hold(placement, token) for placement in firsts.values()]
        existing: set[str] = set()
        try:
            await self._holds.insert_many(new, ordered=False)
        except BulkWriteError as error:
            if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                raise
            existing = {new[e["index"]]["_id"] for e in error.details["writeErrors"]}
        new = [hold for hold in new if hold["_id"] not in existing]
        standing = {user_id: await self._user_standing(user_id) for user_id in {hold["user_id"] for hold in new}}
        usual = {hold["_id"] for hold in new if standing[hold["user_id"]] is None and hold.get("key_quota") is None}
        placed = await asyncio.gather(
            self._place_usual([hold for hold in new if hold["_id"] in usual], token),
            *(self._finish_placement(hold, token, maybe_applied=False) for hold in new if hold["_id"] not in usual),
            *(self._place_existing(hold_id) for hold_id in existing))
        by_hold = {outcome.hold_id: outcome for outcome in [*placed[0], *placed[1:]]}
        answers = []
        for placement in placements:
            if firsts.pop(placement.hold_id, None):
                answers.append(by_hold[placement.hold_id])
            else:
                answers.append(await self._place_existing(placement.hold_id))
        return answers

    async def _place_usual(self, holds: list[dict[str, Any]], token: str) -> list[HoldOutcome]:
        """The wallet steps, ledger entries and closes of new holds that place the usual way."""
        if not holds:
            return []
        applied = await self._apply_many([
            (hold["user_id"], hold["_id"], placement_inc(hold), {"available": {"$gte": int(hold["amount"])}},
             bar_id(hold["_id"])) for hold in holds])
        behind = [hold for hold, done in zip(holds, applied) if not done]
        holds = [hold for hold, done in zip(holds, applied) if done]
        if holds:
            await self._entries.bulk_write([UpdateOne(*entry_upsert(*placement_entry(hold)), upsert=True)
                                            for hold in holds], ordered=False)
            await self._close_all(holds, token, lambda hold: _held(), lambda hold: hold["_id"])
        resumed = await asyncio.gather(*(self._finish_placement(hold, token, maybe_applied=True) for hold in behind))
        return [HoldOutcome(hold["_id"], True, int(hold["amount"])) for hold in holds] + list(resumed)

    async def _close_all(self, holds: list[dict[str, Any]], token: str, fields, op_of) -> None:
        """Closes holds whose steps a batch took, and releases their wallet ids (`op_of`) when all
        closed. Fewer closed than sent: some lease was taken over (we were slower than it), and its
        new holder's step must not be released by us; `recover` releases finished operations."""
        closed = await self._holds.bulk_write([UpdateOne({"_id": hold["_id"], "lease": token}, _closing(fields(hold)))
                                               for hold in holds], ordered=False)
        if closed.modified_count == len(holds):
            for hold in holds:
                await self._release(hold["user_id"], op_of(hold))

    async def _user_standing(self, user_id: str) -> str | None:
        """Why the user may not hold now (`hold_rejection`), read through the users cache."""
        user = await self._users.get(user_id)
        return hold_rejection(user, now())

    async def _finish_placement(self, hold: dict[str, Any], token: str, *, maybe_applied: bool) -> HoldOutcome:
        hold_id, user_id, amount = hold["_id"], hold["user_id"], int(hold["amount"])
        if not (maybe_applied and await self._applied(user_id, hold_id)):
            reason = await self._user_standing(user_id)
            if reason is None:
                reason = await self._hold_on_wallet(hold, amount)
            if reason is not None:
                if await self._close(self._holds, hold_id, token, {"state": "rejected", "reason": reason}):
                    return HoldOutcome(hold_id, False, amount, reason)
                return _hold_outcome(await self._holds.find_one({"_id": hold_id}))  # ended by another
        entry_id, _, kind, deltas = placement_entry(hold)
        await self._record(entry_id, user_id, kind, **deltas)
        if await self._close(self._holds, hold_id, token, _held()):
            await self._release(user_id, hold_id)
        return HoldOutcome(hold_id, True, amount)

    async def _hold_on_wallet(self, hold: dict[str, Any], amount: int) -> str | None:
        """Moves the amount from available to held in one conditional update, which also counts
        it to the key's spend and, with a key quota, only if the key stays within it."""
        user_id, key_id, quota = hold["user_id"], hold.get("key_id"), hold.get("key_quota")
        inc, guard = placement_inc(hold), {"available": {"$gte": amount}}
        if quota is not None:
            if amount > quota:
                return "key_quota_exceeded"
            await self._start_key_spend(user_id, key_id)
            guard[key_spent_field(key_id)] = {"$lte": quota - amount}
        if await self._apply(user_id, hold["_id"], inc, guard, barred_by=bar_id(hold["_id"])):
            return None
        if await self._applied(user_id, bar_id(hold["_id"])):
            return "cancelled"
        if quota is not None and await self.key_spent(user_id, key_id) + amount > quota:
            return "key_quota_exceeded"
        return "insufficient_quota"

    async def capture_hold(self, hold_id: str, cost: int) -> SettleOutcome:
        """Ends a hold by charging `cost`: the rest is refunded, a shortfall is taken from
        `available`, and what the wallet cannot cover is recorded as debt.

        The claim itself marks the hold `capturing` with its cost, so a capture within the hold
        (the usual case) reads nothing: its split follows from the amount and the cost alone."""
        if cost < 0:
            raise ValueError("cost must be >= 0")
        token = secrets.token_hex(8)
        hold = await self._claim(self._holds, hold_id, ("held",), token, {"state": "capturing", "cost": cost})
        resumed = hold is None
        if resumed:  # a capture that stopped half-way: finish it with the figures it chose
            hold = await self._claim(self._holds, hold_id, ("capturing",), token)
            if hold is None:
                return await self._settled_outcome(hold_id)
        return await self._finish_capture(hold, token, resumed=resumed)

    async def _finish_capture(self, hold: dict[str, Any], token: str, *, resumed: bool) -> SettleOutcome:
        """The steps of a capture after its claim. `resumed`: its wallet step may have happened."""
        hold_id, user_id = hold["_id"], hold["user_id"]
        op = f"{hold_id}:capture"
        split = chosen_split(hold)
        if not (resumed and await self._applied(user_id, op)):
            split = await self._charge(hold, token, split)
        entry_id, _, kind, deltas = capture_entry(hold, split)
        await self._record(entry_id, user_id, kind, **deltas)
        if await self._close(self._holds, hold_id, token, captured_fields(split)):
            await self._release(user_id, op)
        return _captured_outcome(hold, split)

    async def _charge(self, hold: dict[str, Any], token: str, split: CaptureSplit | None) -> CaptureSplit:
        """Applies the capture to the wallet. A split that takes a shortfall from the wallet is
        stored on the hold before the wallet step, so a worker resuming after a crash applies
        the same figures."""
        hold_id, user_id, amount, cost = hold["_id"], hold["user_id"], int(hold["amount"]), int(hold["cost"])
        key_id, quota = hold.get("key_id"), hold.get("key_quota")
        op = f"{hold_id}:capture"
        while True:
            if split is None:
                coverable = await self._available(user_id)
                if quota is not None:  # a shortfall may not take the key past its quota either
                    coverable = min(coverable, max(quota - await self.key_spent(user_id, key_id), 0))
                split = capture_split(amount, cost, coverable)
                stored = await self._holds.update_one({"_id": hold_id, "lease": token},
                                                      {"$set": {"split": split.__dict__}})
                # Matched, not modified: pricing again may store the very split stored before.
                if stored.matched_count == 0:
                    raise LeaseBusy(hold_id)  # another worker took the capture over: it applies its split
            inc = capture_inc(hold, split)
            guard = {"available": {"$gte": split.shortfall}} if split.shortfall else {}
            if key_id and quota is not None and split.shortfall:
                guard[key_spent_field(key_id)] = {"$lte": quota - split.shortfall}
            if await self._apply(user_id, op, inc, guard):
                return split
            split = None  # available dropped under us: price the shortfall again

    async def void_hold(self, hold_id: str, user_id: str) -> SettleOutcome:
        """Ends a hold with a full refund. A hold not placed yet is cancelled instead, so a
        late placement request for it is rejected rather than holding money forever."""
        token = secrets.token_hex(8)
        # The usual case first: a placed hold, claimed and marked `voiding` in one update.
        hold = await self._claim(self._holds, hold_id, ("held",), token, {"state": "voiding"})
        if hold is None:
            if await self._cancel_unplaced(hold_id, user_id):
                return SettleOutcome(hold_id, "nothing", 0, 0, 0, 0)
            # One still being placed or voided is waited for and resumed.
            hold = await self._claim(self._holds, hold_id, ("pending", "held", "voiding"), token)
            if hold is None:
                return await self._settled_outcome(hold_id)
        if hold["state"] == "pending":
            if await self._bar_placement(user_id, hold_id):
                await self._close(self._holds, hold_id, token, {"state": "rejected", "reason": "cancelled"})
                return SettleOutcome(hold_id, "nothing", 0, 0, 0, 0)
            entry_id, _, kind, deltas = placement_entry(hold)
            await self._record(entry_id, user_id, kind, **deltas)
            await self._holds.update_one({"_id": hold_id, "lease": token}, {"$set": {"state": "held"}})
            await self._release(user_id, hold_id)
        return await self._finish_void(hold, token)

    async def _finish_void(self, hold: dict[str, Any], token: str) -> SettleOutcome:
        """The steps of a void after its claim (and after a pending placement's own steps)."""
        hold_id, user_id = hold["_id"], hold["user_id"]
        op = f"{hold_id}:void"
        if hold["state"] != "voiding":
            await self._holds.update_one({"_id": hold_id, "lease": token}, {"$set": {"state": "voiding"}})
        await self._apply(user_id, op, void_inc(hold), {})
        entry_id, _, kind, deltas = void_entry(hold)
        await self._record(entry_id, user_id, kind, **deltas)
        if await self._close(self._holds, hold_id, token, voided_fields(hold)):
            await self._release(user_id, op)
        return _voided_outcome(hold)

    async def end_holds(self, ends: list[HoldEnd]) -> list[SettleOutcome]:
        """Ends many holds together, answering in the order of `ends`. The usual ones (a `held`
        hold voided, or captured within its amount) take the steps of `capture_hold` and
        `void_hold` in the same order, each step one bulk write for all of them: a crash between
        two steps leaves each hold where the one-at-a-time way would have, for `recover` to finish.

        The rest goes the one-at-a-time way: a hold not `held` (pending, being ended, ended,
        unknown), a capture beyond its hold, a second end of one hold in the batch (after the
        first), and a hold whose wallet step did not take in the bulk write (which counts only a
        total)."""
        if len(ends) == 1:  # one alone: the claim that returns the hold saves the read
            return [await self._end_alone(ends[0])]
        firsts: dict[str, HoldEnd] = {}
        for end in ends:
            firsts.setdefault(end.hold_id, end)
        claimed, token = await self._claim_held(list(firsts.values()))
        usual = [hold for hold in claimed.values() if ends_usually(hold)]
        ended = await asyncio.gather(
            self._end_usual(usual, token),
            *(self._finish_capture(hold, token, resumed=False) for hold in claimed.values() if not ends_usually(hold)),
            *(self._end_alone(end) for end in firsts.values() if end.hold_id not in claimed))
        by_hold = {outcome.hold_id: outcome for outcome in [*ended[0], *ended[1:]]}
        answers = []
        for end in ends:
            answers.append(by_hold[end.hold_id] if firsts.pop(end.hold_id, None) else await self._end_alone(end))
        return answers

    async def _claim_held(self, ends: list[HoldEnd]) -> tuple[dict[str, dict[str, Any]], str]:
        """Claims the `held` holds among `ends` as `capture_hold` and `void_hold` do (marking them
        `capturing` with their cost, or `voiding`), in one bulk write; answers the claimed
        documents by id, and the lease token they hold."""
        token, now_s = secrets.token_hex(8), time.time()
        result = await self._holds.bulk_write([UpdateOne(
            {"_id": end.hold_id, "state": "held", "lease_until": {"$lt": now_s}},
            {"$set": {**({"state": "voiding"} if end.cost is None else {"state": "capturing", "cost": end.cost}),
                      "lease": token, "lease_until": now_s + self._lease_s}}) for end in ends], ordered=False)
        if not result.modified_count:
            return {}, token
        found = self._holds.find({"_id": {"$in": [end.hold_id for end in ends]}})
        return {doc["_id"]: doc async for doc in found if doc.get("lease") == token}, token

    async def _end_alone(self, end: HoldEnd) -> SettleOutcome:
        if end.cost is None:
            return await self.void_hold(end.hold_id, end.user_id)
        return await self.capture_hold(end.hold_id, end.cost)

    async def _end_usual(self, holds: list[dict[str, Any]], token: str) -> list[SettleOutcome]:
        """The wallet steps, ledger entries and closes of claimed holds that end the usual way."""
        if not holds:
            return []
        applied = await self._apply_many([(hold["user_id"], end_op(hold), end_inc(hold), {}, None) for hold in holds])
        behind = [hold for hold, done in zip(holds, applied) if not done]
        holds = [hold for hold, done in zip(holds, applied) if done]
        if holds:
            await self._entries.bulk_write([UpdateOne(*entry_upsert(*end_entry(hold)), upsert=True)
                                            for hold in holds], ordered=False)
            await self._close_all(holds, token, end_fields, end_op)
        resumed = await asyncio.gather(*(self._finish_void(hold, token) if hold["state"] == "voiding"
                                         else self._finish_capture(hold, token, resumed=True) for hold in behind))
        return [_end_outcome(hold) for hold in holds] + list(resumed)

    async def _bar_placement(self, user_id: str, hold_id: str) -> bool:
        """Makes sure a placement that has not reached the wallet never will: its worker may only
        have stalled past its lease. True: barred, the wallet never held the money; False: the
        placement's wallet step had happened."""
        barred = await self._wallets.update_one(
            {"_id": user_id, "pending": {"$nin": [hold_id]}, "done": {"$nin": [hold_id]}},
            {"$push": {"done": {"$each": [bar_id(hold_id)], "$slice": -DONE_KEPT}}})
        return barred.modified_count == 1 or not await self._applied(user_id, hold_id)

    async def _cancel_unplaced(self, hold_id: str, user_id: str) -> bool:
        """A void of a hold not placed yet cancels it, so a late placement request is rejected
        rather than holding money forever. False: the hold exists."""
        try:
            await self._holds.insert_one({
                "_id": hold_id, "user_id": user_id, "amount": 0, "state": "rejected",
                "reason": "cancelled", "lease": None, "lease_until": 0.0, "created_at": stamp()})
            return True
        except DuplicateKeyError:
            return False

    async def _settled_outcome(self, hold_id: str) -> SettleOutcome:
        doc = await self._holds.find_one({"_id": hold_id})
        if doc is None or doc["state"] in ("rejected", "pending"):
            return SettleOutcome(hold_id, "nothing", 0, 0, 0, 0, repeated=True)
        return SettleOutcome(hold_id, doc["state"], int(doc["amount"]), int(doc.get("charged", 0)),
                             int(doc.get("refunded", 0)), int(doc.get("debt", 0)), repeated=True)

    async def hold_with_entries(self, hold_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """A hold as stored and its ledger entries in order: the placement (`<hold id>`), then
        the capture (`<hold id>:capture`) or the void (`<hold id>:void`), then an approved
        review's charge (`<hold id>:review`), where they exist."""
        ids = [hold_id, f"{hold_id}:capture", f"{hold_id}:void", review_op_id(hold_id)]
        found = {entry["_id"]: entry async for entry in self._entries.find({"_id": {"$in": ids}})}
        return await self._holds.find_one({"_id": hold_id}), [found[i] for i in ids if i in found]

    async def entries(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """A page of the user's ledger entries, newest first, and how many there are in all."""
        return await newest_first(self._entries, {"user_id": user_id}, limit, offset, newest="at")

    # --- review charges ----------------------------------------------------------------
    async def charge_review(self, hold_id: str, rest: int) -> ReviewChargeOutcome:
        """Charges `rest` beyond a captured hold, once (`<hold id>:review`): what a settlement
        capped by its channel's guardrails left uncharged, approved by an admin. It follows the
        shortfall rule of a capture (`capture_split`): taken from `available` (and the key's quota)
        as far as they cover it, the remainder recorded as debt, so no wallet goes negative."""
        if rest <= 0:
            raise ValueError("a review charges a positive amount")
        op_id, token = review_op_id(hold_id), secrets.token_hex(8)
        hold = await self._holds.find_one({"_id": hold_id, "state": "captured"})
        if hold is None:
            raise ValueError(f"{hold_id} is not a captured hold")
        key_fields = {"key_id": hold.get("key_id"), "key_quota": hold.get("key_quota")}
        try:
            await self._review_charges.insert_one({
                "_id": op_id, "hold_id": hold_id, "user_id": hold["user_id"], "amount": rest, **key_fields,
                "state": "pending", "lease": token, "lease_until": time.time() + self._lease_s,
                "created_at": stamp()})
            doc: dict[str, Any] | None = {"_id": op_id, "user_id": hold["user_id"], "amount": rest, **key_fields}
        except DuplicateKeyError:
            doc = await self._claim(self._review_charges, op_id, ("pending",), token)
            if doc is None:
                done = await self._review_charges.find_one({"_id": op_id})
                return ReviewChargeOutcome(op_id, int(done["charged"]), int(done["debt"]), repeated=True)
        user_id = doc["user_id"]
        split = doc.get("split")
        if split is None or not await self._applied(user_id, op_id):
            split = await self._charge_rest(doc, token, split)
        await self._record(op_id, user_id, "review", available=-split["shortfall"], used=split["shortfall"],
                           debt=split["debt"])
        if await self._close(self._review_charges, op_id, token, {
                "state": "applied", "charged": split["shortfall"], "debt": split["debt"], "applied_at": stamp()}):
            await self._release(user_id, op_id)
        return ReviewChargeOutcome(op_id, split["shortfall"], split["debt"])

    async def _charge_rest(self, doc: dict[str, Any], token: str, split: dict[str, int] | None) -> dict[str, int]:
        """The wallet step of a review charge, its split stored first (as `_charge` does)."""
        op_id, user_id, rest = doc["_id"], doc["user_id"], int(doc["amount"])
        key_id, quota = doc.get("key_id"), doc.get("key_quota")
        while True:
            if split is None:
                coverable = await self._available(user_id)
                if quota is not None:
                    coverable = min(coverable, max(quota - await self.key_spent(user_id, key_id), 0))
                taken = capture_split(0, rest, max(coverable, 0))
                split = {"shortfall": taken.shortfall, "debt": taken.debt}
                stored = await self._review_charges.update_one({"_id": op_id, "lease": token},
                                                               {"$set": {"split": split}})
                if stored.matched_count == 0:  # matched, not modified: see `_charge`
                    raise LeaseBusy(op_id)
            inc = {"available": -split["shortfall"], "used": split["shortfall"], "debt": split["debt"]}
            guard = {"available": {"$gte": split["shortfall"]}} if split["shortfall"] else {}
            if key_id:
                inc[key_spent_field(key_id)] = split["shortfall"]
                if quota is not None and split["shortfall"]:
                    guard[key_spent_field(key_id)] = {"$lte": quota - split["shortfall"]}
            if await self._apply(user_id, op_id, inc, guard):
                return split
            split = None  # available dropped under us: price the charge again

    # --- top-ups -----------------------------------------------------------------------
    async def topup(self, op_id: str, user_id: str, amount: int) -> TopupOutcome:
        if amount <= 0:
            raise ValueError("a top-up credits a positive amount")
        token = secrets.token_hex(8)
        try:
            await self._topups.insert_one({
                "_id": op_id, "user_id": user_id, "amount": amount, "state": "pending",
                "lease": token, "lease_until": time.time() + self._lease_s, "created_at": stamp()})
            doc: dict[str, Any] | None = {"user_id": user_id, "amount": amount}
        except DuplicateKeyError:
            doc = await self._claim(self._topups, op_id, ("pending",), token)
            if doc is None:
                done = await self._topups.find_one({"_id": op_id})
                return TopupOutcome(op_id, done["state"] == "applied", await self.wallet(done["user_id"]))
        user_id, amount = doc["user_id"], int(doc["amount"])
        if not await self._applied(user_id, op_id) and not await self._apply(
            user_id, op_id, {"available": amount, "credited": amount}, {}
        ):
            await self._close(self._topups, op_id, token, {"state": "rejected", "reason": "user_not_found"})
            return TopupOutcome(op_id, False, None)
        await self._record(op_id, user_id, "topup", available=amount, credited=amount)
        if await self._close(self._topups, op_id, token, {"state": "applied", "applied_at": stamp()}):
            await self._release(user_id, op_id)
        return TopupOutcome(op_id, True, await self.wallet(user_id))

    # --- recovery ----------------------------------------------------------------------
    async def count_holds_open_since(self, seconds: float) -> int:
        """Holds still held `seconds` after they were placed: their task should long have settled.
        `open_since` is stamped when a hold is placed and removed when it ends, so this reads the
        open holds only, however many ended ones are stored (a find: the stand-in answers a
        `count_documents`, an aggregation, by reading the whole collection)."""
        found = self._holds.find({"open_since": {"$gt": "", "$lt": stamp_in(-seconds)}}, {"_id": 1})
        return len(await found.to_list(None))

    async def recover(self) -> int:
        """Finishes operations whose worker died mid-way (their lease has expired)."""
        resumed = 0
        async for hold in _expired(self._holds):
            if hold["state"] == "pending":
                await self.place_hold(hold["_id"], hold["user_id"], int(hold["amount"]))
            elif hold["state"] == "capturing":
                await self.capture_hold(hold["_id"], int(hold["cost"]))
            else:
                await self.void_hold(hold["_id"], hold["user_id"])
            resumed += 1
        async for topup in _expired(self._topups):
            await self.topup(topup["_id"], topup["user_id"], int(topup["amount"]))
            resumed += 1
        async for charge in _expired(self._review_charges):
            await self.charge_review(charge["hold_id"], int(charge["amount"]))
            resumed += 1
        return resumed + await self._release_finished()

    async def _release_finished(self) -> int:
        """Pulls ids left in `wallet.pending` by a worker that died after marking its operation
        done but before the pull. Only finished operations are pulled: an id whose operation
        is still in flight must stay, or a resumed worker would apply it again."""
        released = 0
        async for wallet in self._wallets.find({"$nor": [{"pending": {"$size": 0}}]}, {"pending": 1}):
            for op in wallet["pending"]:
                if await self._finished(op):
                    await self._release(wallet["_id"], op)
                    released += 1
        return released

    async def _finished(self, op: str) -> bool:
        if op.startswith("topup:"):
            doc = await self._topups.find_one({"_id": op}, {"state": 1})
            return doc is not None and doc["state"] != "pending"
        if op.endswith(":review"):
            doc = await self._review_charges.find_one({"_id": op}, {"state": 1})
            return doc is not None and doc["state"] != "pending"
        hold_id, _, step = op.partition(":")
        doc = await self._holds.find_one({"_id": hold_id}, {"state": 1})
        if doc is None:
            return False
        done_after = {"": ("held", "capturing", "voiding", "captured", "voided"),
                      "capture": ("captured",), "void": ("voided",)}[step]
        return doc["state"] in done_after

    # --- steps -------------------------------------------------------------------------
    async def _claim(self, coll, op_id: str, states: tuple[str, ...], token: str,
                     also_set: dict[str, Any] | None = None) -> dict | None:
        """Takes the operation's lease if it is in one of `states` (setting `also_set` in the same
        update); waits while another worker holds it. None means the operation is no longer in
        those states. The document returned is the one after the update."""
        deadline = time.monotonic() + self._lease_s * 2
        delay = 0.005
        while True:
            now = time.time()
            doc = await coll.find_one_and_update(
                {"_id": op_id, "state": {"$in": list(states)}, "lease_until": {"$lt": now}},
                {"$set": {**(also_set or {}), "lease": token, "lease_until": now + self._lease_s}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                return doc
            current = await coll.find_one({"_id": op_id}, {"state": 1})
            if current is None or current["state"] not in states:
                return None
            if time.monotonic() > deadline:
                raise LeaseBusy(op_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def _apply(self, user_id: str, op: str, inc: dict[str, int], guard: dict,
                     barred_by: str | None = None) -> bool:
        """The wallet step of `op`, once: True when it is applied, now or earlier. `barred_by`:
        an id whose presence in `wallet.done` forbids the step."""
        result = await self._wallets.update_one(*wallet_step(user_id, op, inc, guard, barred_by))
        return result.modified_count == 1 or await self._applied(user_id, op)

    async def _apply_many(self, steps: list[tuple[str, str, dict[str, int], dict, str | None]]) -> list[bool]:
        """Wallet steps `(user id, op, inc, guard, barred_by)` in one bulk write; True for each
        applied, now or earlier. A wallet with several steps gets them in one update
        (`wallet_steps_together`), so a batch writes each wallet once; when that update does not
        apply (one of its steps applied already, or the wallet cannot cover them all together),
        its steps not applied yet go in a second bulk write one update each, as they would alone.
        A write counts only a total, so a shortfall in it reads the wallets; a step still not
        applied then is the caller's to retry the one-at-a-time way."""
        per_wallet: dict[str, list[tuple[str, dict[str, int], dict, str | None]]] = defaultdict(list)
        for user_id, *step in steps:
            per_wallet[user_id].append(tuple(step))
        together = {user_id: combined for user_id, wallet_steps in per_wallet.items() if len(wallet_steps) > 1
                    and (combined := wallet_steps_together(user_id, wallet_steps)) is not None}
        updates = [*together.values(), *(wallet_step(*step) for step in steps if step[0] not in together)]
        applied = await self._write_steps(updates, steps)
        again = [step for step, done in zip(steps, applied) if not done and step[0] in together]
        if not again:
            return applied
        retried = dict(zip((op for _, op, *_ in again), await self._write_steps([wallet_step(*s) for s in again], again)))
        return [done or retried.get(op, False) for (_, op, *_), done in zip(steps, applied)]

    async def _write_steps(self, updates: list[tuple[dict, dict]], steps: list[tuple]) -> list[bool]:
        """Sends wallet updates covering `steps`; whether each step is applied, read back from
        the wallets (one query) when fewer updates applied than were sent."""
        result = await self._wallets.bulk_write([UpdateOne(*update) for update in updates], ordered=False)
        if result.modified_count == len(updates):
            return [True] * len(steps)
        wallets = {wallet["_id"]: {*wallet.get("pending", ()), *wallet.get("done", ())} async for wallet in
                   self._wallets.find({"_id": {"$in": list({user_id for user_id, *_ in steps})}},
                                      {"pending": 1, "done": 1})}
        return [op in wallets.get(user_id, ()) for user_id, op, *_ in steps]

    async def _applied(self, user_id: str, op: str) -> bool:
        """Whether the wallet step of `op` happened: its id is pending or recently done."""
        found = await self._wallets.find_one({"_id": user_id, "$or": [{"pending": op}, {"done": op}]}, {"_id": 1})
        return found is not None

    @contextlib.asynccontextmanager
    async def releasing_together(self) -> AsyncIterator[None]:
        """Operations finished inside this block release their wallet ids together at its end:
        one bulk write for all their wallets instead of one update per operation. An id released late only stays in `pending` longer, which changes nothing; a
        crash before the end leaves it to `recover`, as a crash before any release does."""
        batch: dict[str, list[str]] = defaultdict(list)
        token = _released_later.set(batch)
        try:
            yield
        finally:
            _released_later.reset(token)
            if batch:
                await self._wallets.bulk_write([UpdateOne(*release_step(user_id, ops)) for user_id, ops in batch.items()],
                                               ordered=False)

    async def _release(self, user_id: str, op: str) -> None:
        batch = _released_later.get()
        if batch is None:
            await self._release_now(user_id, [op])
        else:
            batch[user_id].append(op)

    async def _release_now(self, user_id: str, ops: list[str]) -> None:
        await self._wallets.update_one(*release_step(user_id, ops))

    async def _close(self, coll, op_id: str, token: str, fields: dict[str, Any]) -> bool:
        """Marks the operation done. False means our lease was taken over (we were slower
        than the lease): the new holder finishes, so we must not release the wallet step."""
        result = await coll.update_one({"_id": op_id, "lease": token}, _closing(fields))
        return result.modified_count == 1

    async def _record(self, entry_id: str, user_id: str, kind: str, **deltas: int) -> None:
        """One ledger entry per wallet step (deterministic id), so a wallet can be replayed."""
        await self._entries.update_one(*entry_upsert(entry_id, user_id, kind, deltas), upsert=True)


def _held() -> dict[str, Any]:
    """A placed hold's state: held, and open since now (`count_holds_open_since`)."""
    held_at = stamp()
    return {"state": "held", "held_at": held_at, "open_since": held_at}


def _closing(fields: dict[str, Any]) -> dict[str, Any]:
    """The update that ends an operation's step with `fields`: its lease handed back, and a hold
    that ends (captured, voided) no longer counted open."""
    update: dict[str, Any] = {"$set": {**fields, "lease": None, "lease_until": 0.0}}
    if fields.get("state") in ENDED_STATES:
        update["$unset"] = {"open_since": ""}
    return update


async def _expired(operations) -> AsyncIterator[dict[str, Any]]:
    """Operations in flight whose lease ran out. A lease is a time only while its operation runs
    (`_closing` hands it back as 0), so this is one bounded range of the `lease_until` index; the
    state is checked here, not in the query, which the stand-in would answer by reading them all."""
    async for operation in operations.find({"lease_until": {"$gt": 0.0, "$lt": time.time()}}):
        if operation.get("state") in IN_FLIGHT_STATES:
            yield operation


def _captured_outcome(hold: dict[str, Any], split: CaptureSplit) -> SettleOutcome:
    return SettleOutcome(hold["_id"], "captured", int(hold["amount"]), split.charged, split.refund, split.debt)


def _voided_outcome(hold: dict[str, Any]) -> SettleOutcome:
    amount = int(hold["amount"])
    return SettleOutcome(hold["_id"], "voided", amount, 0, amount, 0)


def _end_outcome(hold: dict[str, Any]) -> SettleOutcome:
    return _voided_outcome(hold) if hold["state"] == "voiding" else _captured_outcome(hold, chosen_split(hold))


def _hold_outcome(doc: dict[str, Any]) -> HoldOutcome:
    placed = doc["state"] in OPEN_HOLD_STATES or doc["state"] in ("captured", "voided")
    return HoldOutcome(doc["_id"], placed, int(doc["amount"]), doc.get("reason"))
