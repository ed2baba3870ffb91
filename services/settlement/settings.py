from __future__ import annotations

import base64

from pydantic import Field, model_validator

from shared.settings import CommonSettings
from shared.task_receipts import TaskReceiptSettings


class SettlementSettings(CommonSettings, TaskReceiptSettings):
    settlement_port: int = 8083
    reconcile_interval_s: float = Field(5.0, gt=0, description="How often unsettled terminal tasks are looked for.")
    reconcile_after_s: float = Field(10.0, ge=0, description=(
        "A terminal task still unsettled this long after finishing is settled by the sweep "
        "(its event was lost, e.g. a crash between the status write and the publish)."))
    callback_signing_secret: str = Field("", description=(
        "HMAC-SHA256 key that signs task callbacks; required in production (an empty key proves nothing)."))
    callback_attempts: int = Field(5, ge=1, description="Attempts of one webhook delivery before it is `failed`.")
    callback_timeout_s: float = Field(5.0, gt=0, description="How long one webhook attempt may take.")
    webhook_signing_secret: str = Field("", description=(
        "Standard Webhooks key of every webhook delivery, `whsec_<base64 of the key>` (what receivers' "
        "libraries take as is). Empty: the key is CALLBACK_SIGNING_SECRET's bytes, i.e. receivers verify "
        "with `whsec_` + base64(CALLBACK_SIGNING_SECRET)."))
    webhook_send_interval_s: float = Field(1.0, gt=0, le=60, description=(
        "The closest two looks for webhook deliveries due (new ones, retries, ones a crashed process "
        "left) follow each other; a look comes as soon as one is due, and after each batch of task "
        "events settlement handles."))
    webhook_idle_s: float = Field(2.0, gt=0, le=60, description=(
        "The longest settlement waits between two looks while no delivery is due sooner: what a "
        "`start` delivery the gateway records waits at most. Each look is a MongoDB query, so an "
        "idle settlement makes one per WEBHOOK_IDLE_S."))
    webhook_retry_base_s: float = Field(1.0, gt=0, description=(
        "Wait before a delivery's first retry; it doubles with each further one (spread 0.5-1.5x)."))
    webhook_retry_cap_s: float = Field(300.0, gt=0, description="The longest wait between two attempts.")

    @property
    def webhook_signing_key(self) -> bytes:
        if not self.webhook_signing_secret:
            return self.callback_signing_secret.encode()
        return base64.b64decode(self.webhook_signing_secret.removeprefix("whsec_"))

    @model_validator(mode="after")
    def _signing_secret_readable(self) -> "SettlementSettings":
        secret = self.webhook_signing_secret
        if secret:
            try:
                if not secret.startswith("whsec_") or not base64.b64decode(secret[6:], validate=True):
                    raise ValueError
            except ValueError:
                raise ValueError("WEBHOOK_SIGNING_SECRET must be whsec_<base64>") from None
        return self

    @model_validator(mode="after")
    def _refuse_unsigned_callbacks(self) -> "SettlementSettings":
        self.refuse_weak_secret("CALLBACK_SIGNING_SECRET", self.callback_signing_secret)
        return self
