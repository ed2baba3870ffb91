"""Task receipts: what a settled task cost and why, signed so its owner can prove it later.

A receipt is the task's pricing terms as snapshotted at submit (`billing`), the usage measured and
the units it counts, the hold, what was charged, refunded, taken beyond the hold (shortfall) and
left as debt, the ids of the hold's ledger entries (`<hold id>` placed it, `<hold id>:capture` or
`<hold id>:void` ended it, `<hold id>:review` charged what an approved review of a capped settlement
added, counted in charged / shortfall / debt), the review if a channel guardrail capped it, its times and the consumption log's id. The figures are the hold's own
as the ledger ended it (`shared.ledger.store`), so a receipt is ready as soon as the money moved,
before or after the task is marked settled (a `completed` webhook may be rendered in between).

Signed answer: `{"receipt": {...}, "signature": {"alg": "HMAC-SHA256", "key_id": ..., "value":
hex}}`, where `value` is HMAC-SHA256 under TASK_RECEIPT_SIGNING_KEY (its UTF-8 bytes) of the
receipt's canonical JSON: keys sorted, no whitespace, non-ASCII escaped, i.e. exactly Python's
`json.dumps(receipt, sort_keys=True, separators=(",", ":")).encode()`. The receipt is built
only from stored facts, so every rendering of it (the route, the webhook) is the same bytes.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import pricing
from shared.ledger import Ledger
from shared.settings import MIN_SECRET_LENGTH
from shared.task_record import Task

ALG = "HMAC-SHA256"
VERSION = 1
ENDED_HOLD_STATES = ("captured", "voided")


def canonical_json(receipt: dict[str, Any]) -> bytes:
    return json.dumps(receipt, sort_keys=True, separators=(",", ":")).encode()


def signature_value(key: bytes, receipt: dict[str, Any]) -> str:
    return hmac.new(key, canonical_json(receipt), hashlib.sha256).hexdigest()


def verify(signed: dict[str, Any], keys: dict[str, bytes]) -> bool:
    """Whether `signed` (a receipt answer) carries a valid signature under one of `keys` (by key id)."""
    signature = signed.get("signature") or {}
    key = keys.get(signature.get("key_id", ""))
    if key is None or signature.get("alg") != ALG or not isinstance(signed.get("receipt"), dict):
        return False
    return hmac.compare_digest(signature_value(key, signed["receipt"]), str(signature.get("value", "")))


@dataclass(frozen=True)
class ReceiptSigner:
    key: bytes = field(repr=False)
    key_id: str

    def sign(self, receipt: dict[str, Any]) -> dict[str, Any]:
        return {"receipt": receipt,
                "signature": {"alg": ALG, "key_id": self.key_id, "value": signature_value(self.key, receipt)}}


class TaskReceiptSettings(BaseSettings):
    """Gateway (the receipt routes) and settlement (the `completed` webhook) both sign receipts,
    so both read these, and must be given the same values."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    task_receipt_signing_key: str = Field("", description=(
        f"HMAC-SHA256 key signing task receipts, at least {MIN_SECRET_LENGTH} characters. Empty: receipts "
        "answer 503 receipts_unavailable and `completed` webhooks carry none (an unsigned receipt proves nothing)."))
    task_receipt_key_id: str = Field("", max_length=64, description=(
        "The key id receipts name in `signature.key_id`, so a verifier picks the right key after a "
        "rotation. Empty: `sha256:` + the first 12 hex digits of the key's SHA-256."))

    @field_validator("task_receipt_signing_key")
    @classmethod
    def _long_enough(cls, key: str) -> str:
        if key and len(key) < MIN_SECRET_LENGTH:
            raise ValueError(f"TASK_RECEIPT_SIGNING_KEY must be at least {MIN_SECRET_LENGTH} characters")
        return key

    @property
    def receipt_signer(self) -> ReceiptSigner | None:
        if not self.task_receipt_signing_key:
            return None
        key = self.task_receipt_signing_key.encode()
        return ReceiptSigner(key, self.task_receipt_key_id or "sha256:" + hashlib.sha256(key).hexdigest()[:12])


def receipt_body(task: Task, hold: dict[str, Any] | None,
                 entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The receipt of `task` given its hold as stored and its ledger entries (in order, as
    `Ledger.hold_with_entries` reads them); None: not settled yet."""
    if not task.status.is_terminal:
        return None
    settlement = task.settlement if task.settled else None
    if hold is not None and hold.get("state") in ENDED_HOLD_STATES:
        outcome, amount, settled_at = hold["state"], int(hold["amount"]), hold.get("settled_at")
        charged, refunded, debt = (int(hold.get(f, 0)) for f in ("charged", "refunded", "debt"))
    elif settlement:  # a hold that never held money (cancelled before billing placed it)
        outcome, amount, settled_at = settlement["outcome"], int(settlement["hold"]), settlement.get("settled_at")
        charged, refunded, debt = (int(settlement[f]) for f in ("charged", "refunded", "debt"))
    else:
        return None
    beyond = [e for e in entries if e.get("kind") == "review"]  # an approved review's charge after the cap
    shortfall = max(charged - amount, 0)
    for entry in beyond:
        charged, debt = charged + int(entry.get("used", 0)), debt + int(entry.get("debt", 0))
        shortfall += int(entry.get("used", 0))
    review = task.review
    billing = task.billing or {}
    units = pricing.usage_units(task.usage, billing.get("usage_field"))
    return _plain({
        "version": VERSION, "task_id": task.id, "user_id": task.user_id, "api_key_id": task.key_id,
        "model": task.model, "channel_id": task.channel_id, "mode": task.mode,
        "status": task.status.value, "fail_reason": task.fail_reason,
        "pricing": billing, "usage": task.usage, "units": _decimal(units),
        "hold": {"id": task.hold_id, "amount": amount}, "outcome": outcome,
        "cost": charged + debt, "charged": charged, "refunded": refunded,
        "shortfall": shortfall, "debt": debt,
        "ledger_entries": [{"id": e["_id"], "kind": e.get("kind"), "at": e.get("at"),
                            **{f: int(e.get(f, 0)) for f in ("available", "held", "used", "debt")}}
                           for e in entries],
        "submitted_at": task.created_at, "finished_at": task.finished_at, "settled_at": settled_at,
        "consumption_log_id": task.id,
        **({"review": {k: review.get(k) for k in ("state", "reason", "uncapped", "capped")}} if review else {}),
    })


class TaskReceipts:
    def __init__(self, ledger: Ledger, signer: ReceiptSigner) -> None:
        self._ledger, self._signer = ledger, signer

    async def signed(self, task: Task) -> dict[str, Any] | None:
        """The task's signed receipt; None while it is not settled."""
        if not task.status.is_terminal or not task.hold_id:
            return None
        hold, entries = await self._ledger.hold_with_entries(task.hold_id)
        body = receipt_body(task, hold, entries)
        return None if body is None else self._signer.sign(body)


def _decimal(units: int | Fraction | None) -> str | None:
    """Units as a decimal string ("2.5", not "5/2"): a measured fraction was a decimal as written."""
    if units is None or isinstance(units, int):
        return None if units is None else str(units)
    return format(Decimal(units.numerator) / Decimal(units.denominator), "f")


def _plain(value: Any) -> Any:
    """JSON-native and finite, so what is signed is exactly what is sent (and parsed back)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)
