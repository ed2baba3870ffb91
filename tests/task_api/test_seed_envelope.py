"""How engine errors read in the Task API's envelope (`task_api.errors`)."""
from __future__ import annotations

import pytest

from services.gateway.errors import ApiError, Forbidden, InvalidRequest, NotFound, Unauthorized, hold_rejected
from services.gateway.task_api.errors import in_seed_envelope


@pytest.mark.parametrize("error,status,code", [
    (InvalidRequest("x"), 400, 4001), (ApiError("x", code="invalid_request", status=422), 400, 4001),
    (Unauthorized("x", code="token_expired"), 401, 4003), (Forbidden("x", code="model_not_allowed"), 403, 4003),
    (NotFound("x", code="task_not_found"), 404, 4004), (hold_rejected("not_member"), 403, 1002),
    (hold_rejected("insufficient_quota"), 402, 1003), (hold_rejected("user_not_found"), 403, 1004),
    (ApiError("x", code="rate_limited", status=429), 429, "rate_limited"),
])
def test_engine_errors_take_the_seed_numbers(error, status, code):
    seed = in_seed_envelope(error)
    assert (seed.status, seed.code, seed.extra["success"], seed.message) == (status, code, False, error.message)
