from __future__ import annotations

from pydantic import Field

from shared.settings import CommonSettings


class SettlementSettings(CommonSettings):
    settlement_port: int = 8083
    reconcile_interval_s: float = Field(5.0, gt=0, description="How often unsettled terminal tasks are looked for.")
    reconcile_after_s: float = Field(10.0, ge=0, description=(
        "A terminal task still unsettled this long after finishing is settled by the sweep "
        "(its event was lost, e.g. a crash between the status write and the publish)."))
    callback_signing_secret: str = Field("", description="HMAC-SHA256 key for task callbacks.")
    callback_attempts: int = Field(5, ge=1)
    callback_timeout_s: float = Field(5.0, gt=0)
