"""What the receipt routes answer (`GET /pass/{model}/task/{id}/receipt`, `GET /api/task/{id}/receipt`)
for a task the caller owns: its signed receipt (`shared.task_receipts`), 409 receipt_not_ready
before it is settled, 503 receipts_unavailable while no signing key is configured."""
from __future__ import annotations

from typing import Any

from services.gateway.errors import ApiError, Conflict
from shared.ledger import Ledger
from shared.task_receipts import ReceiptSigner, TaskReceipts
from shared.task_record import Task


async def signed_receipt(ledger: Ledger, signer: ReceiptSigner | None, task: Task) -> dict[str, Any]:
    """`signer`: the settings' `receipt_signer`, None while no signing key is configured."""
    if signer is None:
        raise ApiError("task receipts are not configured on this gateway (TASK_RECEIPT_SIGNING_KEY)",
                       code="receipts_unavailable", status=503)
    signed = await TaskReceipts(ledger, signer).signed(task)
    if signed is None:
        raise Conflict(f"task {task.id} is not settled yet: its receipt exists once its hold is captured "
                       "or voided", code="receipt_not_ready")
    return signed
