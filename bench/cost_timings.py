"""The background timers of the cost scenario's stack. tests/harness/stack.py shortens them for
tests (a sweep every 0.2 s, recovery every second); idle MongoDB polling is part of what the cost
scenario measures, so by default its stack runs them at the services' own defaults, read from
their settings classes so that a changed default is measured as it ships."""
from __future__ import annotations

from services.billing.settings import BillingSettings
from services.gateway.settings import GatewaySettings
from services.poller.settings import PollerSettings
from services.settlement.settings import SettlementSettings
from tests.harness.stack import TEST_ENV

# Each variable the harness shortens, with the settings class whose default it overrides.
TIMERS = {
    "POLL_TICK_S": PollerSettings,
    "POLL_IDLE_S": PollerSettings,
    "LATE_WATCH_TICK_S": PollerSettings,
    "WEBHOOK_SEND_INTERVAL_S": SettlementSettings,
    "WEBHOOK_IDLE_S": SettlementSettings,
    "RECONCILE_INTERVAL_S": SettlementSettings,
    "RECONCILE_AFTER_S": SettlementSettings,
    "RECOVERY_INTERVAL_S": BillingSettings,
    "LEDGER_LEASE_S": BillingSettings,
    "WEBHOOK_RECEIPT_PURGE_INTERVAL_S": GatewaySettings,
}


def shipped_timers() -> dict[str, str]:
    """The environment that puts the harness's shortened timers back to the services' defaults."""
    found = {}
    for variable, settings in TIMERS.items():
        if variable in TEST_ENV:
            found[variable] = str(settings.model_fields[variable.lower()].default)
    return found
