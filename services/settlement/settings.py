from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings import CommonSettings


class SettlementSettings(CommonSettings):
    settlement_port: int = 8083
    reconcile_interval_s: float = Field(5.0, gt=0, description="How often unsettled terminal tasks are looked for.")
    reconcile_after_s: float = Field(10.0, ge=0, description=(
        "A terminal task still unsettled this long after finishing is settled by the sweep "
        "(its event was lost, e.g. a crash between the status write and the publish)."))
    callback_signing_secret: str = Field("", description=(
        "HMAC-SHA256 key that signs task callbacks; required in production (an empty key proves nothing)."))
    callback_attempts: int = Field(5, ge=1)
    callback_timeout_s: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _refuse_unsigned_callbacks(self) -> "SettlementSettings":
        self.refuse_weak_secret("CALLBACK_SIGNING_SECRET", self.callback_signing_secret)
        return self
