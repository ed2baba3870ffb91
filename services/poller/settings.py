from __future__ import annotations

from shared.settings import CommonSettings, CustomPassSettings


class PollerSettings(CommonSettings, CustomPassSettings):
    poller_port: int = 8082
