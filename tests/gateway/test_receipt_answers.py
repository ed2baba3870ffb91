"""`receipt_answers`: a gateway without a receipt key answers 503 receipts_unavailable, never an
unsigned receipt; a task not settled yet answers 409 receipt_not_ready."""
from __future__ import annotations

import dataclasses

import pytest

from services.gateway.errors import ApiError
from services.gateway.receipt_answers import signed_receipt
from shared.status import TaskStatus
from shared.task_receipts import ReceiptSigner
from shared.task_record import Task


class _Ledger:
    async def hold_with_entries(self, hold_id):
        return {"_id": hold_id, "state": "held", "amount": 10}, [{"_id": hold_id, "kind": "hold"}]


TASK = Task(id="task_1", user_id="u1", status=TaskStatus.SUCCESS, hold_id="hold_task_1")


async def test_without_a_signing_key_receipts_are_unavailable():
    with pytest.raises(ApiError) as refused:
        await signed_receipt(_Ledger(), None, TASK)
    assert (refused.value.status, refused.value.code) == (503, "receipts_unavailable")


@pytest.mark.parametrize("task", [TASK, dataclasses.replace(TASK, status=TaskStatus.IN_PROGRESS)])
async def test_before_its_hold_ends_a_task_has_no_receipt(task):
    with pytest.raises(ApiError) as early:
        await signed_receipt(_Ledger(), ReceiptSigner(b"k" * 32, "k1"), task)
    assert (early.value.status, early.value.code) == (409, "receipt_not_ready")
