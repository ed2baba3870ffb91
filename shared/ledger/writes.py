"""What each money operation writes, as pure functions of the operation's document: the filter and
update of its wallet step, its ledger entry, the fields that close it. `Ledger` (store.py) sends
them one at a time or, for a batch, in one bulk write per step; both ways write the same."""
from __future__ import annotations

from typing import Any

from shared.clock import stamp
from shared.ledger.rules import CaptureSplit, capture_split
from shared.ledger.wallet import AMOUNTS

# Finished operation ids kept per wallet: a holder that stalled past its lease is still stopped
# unless this many more of the same user's operations finished meanwhile.
DONE_KEPT = 256


def key_spent_field(key_id: str) -> str:
    """Each key's spend lives on its user's wallet, so one update guards the wallet and the key."""
    return f"keys.{key_id}.spent"


def review_op_id(hold_id: str) -> str:
    """The id of an approved review's charge beyond the hold: its operation, wallet step and entry."""
    return f"{hold_id}:review"


def bar_id(hold_id: str) -> str:
    """The id a cancelled placement leaves in `wallet.done`, barring its wallet step."""
    return f"{hold_id}:barred"


def chosen_split(hold: dict[str, Any]) -> CaptureSplit | None:
    """The split a capture in progress applies: the one stored, or, for a cost within the hold,
    the one its cost alone decides. None: it takes a shortfall not priced yet."""
    if hold.get("split"):
        return CaptureSplit(**hold["split"])
    cost, amount = int(hold["cost"]), int(hold["amount"])
    return capture_split(amount, cost, 0) if cost <= amount else None


def wallet_step(user_id: str, op: str, inc: dict[str, int], guard: dict,
                 barred_by: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filter and update of `op`'s wallet step: applied only while its id is in neither
    `pending` nor `done` (nor `barred_by` in `done`), and `guard` holds."""
    # `$nin`, not `$ne`: the local MongoDB stand-in evaluates `$ne` against an array that
    # holds other ids as "not equal", which would apply a resumed operation a second time.
    return ({"_id": user_id, "pending": {"$nin": [op]}, "done": {"$nin": [op, barred_by] if barred_by else [op]},
             **guard},
            {"$inc": {k: v for k, v in inc.items() if v}, "$push": {"pending": op}})


def wallet_steps_together(user_id: str, steps: list[tuple[str, dict[str, int], dict, str | None]],
                          ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """One update doing the wallet steps `(op, inc, guard, barred_by)` of one wallet at once, all
    or none: their increments added up, applied only while none of their ids is pending or done
    (nor barred) and the wallet covers their `available` guards added up, which is what applying
    them one after another would need. None when they cannot be added up: a guard on anything
    but `available`, or an op twice."""
    ops = [op for op, *_ in steps]
    if len(set(ops)) != len(ops):
        return None
    inc: dict[str, int] = {}
    needed = 0
    for _, step_inc, guard, _ in steps:
        if set(guard) - {"available"} or set(guard.get("available", {})) - {"$gte"}:
            return None
        needed += int(guard["available"]["$gte"]) if guard else 0
        for field, value in step_inc.items():
            inc[field] = inc.get(field, 0) + value
    barred = [barred_by for *_, barred_by in steps if barred_by]
    return ({"_id": user_id, "pending": {"$nin": ops}, "done": {"$nin": ops + barred},
             **({"available": {"$gte": needed}} if needed else {})},
            {"$inc": {k: v for k, v in inc.items() if v}, "$push": {"pending": {"$each": ops}}})


def release_step(user_id: str, ops: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Moves finished operations' ids from `wallet.pending` to `wallet.done`."""
    return {"_id": user_id}, {"$pull": {"pending": {"$in": ops}}, "$push": {"done": {"$each": ops, "$slice": -DONE_KEPT}}}


def entry_upsert(entry_id: str, user_id: str, kind: str, deltas: dict[str, int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ledger entry, written once by its deterministic id."""
    return {"_id": entry_id}, {"$setOnInsert": {"user_id": user_id, "kind": kind, "at": stamp(),
                                                **{f: int(deltas.get(f, 0)) for f in AMOUNTS}}}


def placement_entry(hold: dict[str, Any]) -> tuple[str, str, str, dict[str, int]]:
    amount = int(hold["amount"])
    return hold["_id"], hold["user_id"], "hold", {"available": -amount, "held": amount}


def placement_inc(hold: dict[str, Any]) -> dict[str, int]:
    """The wallet step: the ledger entry's deltas, and the key's spend."""
    inc = dict(placement_entry(hold)[3])
    if hold.get("key_id"):
        inc[key_spent_field(hold["key_id"])] = int(hold["amount"])
    return inc


# What ending a hold does, the same whether one hold ends or a batch: by capture (with its split)
# or by void (a full refund).
def capture_inc(hold: dict[str, Any], split: CaptureSplit) -> dict[str, int]:
    """The wallet step: the ledger entry's deltas, and the key's spend."""
    inc = dict(capture_entry(hold, split)[3])
    if hold.get("key_id"):
        inc[key_spent_field(hold["key_id"])] = split.charged - int(hold["amount"])
    return inc


def capture_entry(hold: dict[str, Any], split: CaptureSplit) -> tuple[str, str, str, dict[str, int]]:
    return (f"{hold['_id']}:capture", hold["user_id"], "capture",
            {"held": -int(hold["amount"]), "used": split.charged, "available": split.available_delta, "debt": split.debt})


def captured_fields(split: CaptureSplit) -> dict[str, Any]:
    return {"state": "captured", "charged": split.charged, "refunded": split.refund, "debt": split.debt,
            "settled_at": stamp()}


def void_inc(hold: dict[str, Any]) -> dict[str, int]:
    inc = dict(void_entry(hold)[3])
    if hold.get("key_id"):
        inc[key_spent_field(hold["key_id"])] = -int(hold["amount"])
    return inc


def void_entry(hold: dict[str, Any]) -> tuple[str, str, str, dict[str, int]]:
    amount = int(hold["amount"])
    return f"{hold['_id']}:void", hold["user_id"], "void", {"held": -amount, "available": amount}


def voided_fields(hold: dict[str, Any]) -> dict[str, Any]:
    return {"state": "voided", "charged": 0, "refunded": int(hold["amount"]), "debt": 0, "settled_at": stamp()}


# A claimed hold of `end_holds`: `voiding`, or `capturing` with its cost.
def ends_usually(hold: dict[str, Any]) -> bool:
    """Whether it ends without reading the wallet: a void, or a capture within the hold."""
    return hold["state"] == "voiding" or chosen_split(hold) is not None


def end_op(hold: dict[str, Any]) -> str:
    return f"{hold['_id']}:{'void' if hold['state'] == 'voiding' else 'capture'}"


def end_inc(hold: dict[str, Any]) -> dict[str, int]:
    return void_inc(hold) if hold["state"] == "voiding" else capture_inc(hold, chosen_split(hold))


def end_entry(hold: dict[str, Any]) -> tuple[str, str, str, dict[str, int]]:
    return void_entry(hold) if hold["state"] == "voiding" else capture_entry(hold, chosen_split(hold))


def end_fields(hold: dict[str, Any]) -> dict[str, Any]:
    return voided_fields(hold) if hold["state"] == "voiding" else captured_fields(chosen_split(hold))
