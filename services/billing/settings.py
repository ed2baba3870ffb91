from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class BillingSettings(CommonSettings):
    billing_port: int = 8081
    recovery_interval_s: float = Field(5.0, gt=0, description="How often stuck operations are resumed.")
    billing_batch_size: int = Field(200, ge=1, description="Hold requests handled concurrently.")
    stale_hold_after_s: float = Field(7200.0, gt=0, description=(
        "A hold still open this long after it was placed counts as stuck (metric and alert); "
        "keep it above the longest task lifetime."))
