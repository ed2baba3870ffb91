from __future__ import annotations

from shared.settings import CommonSettings, CustomPassSettings


class SettlementSettings(CommonSettings, CustomPassSettings):
    settlement_port: int = 8083
