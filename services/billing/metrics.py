"""Billing's Prometheus metrics. Amounts are quota units; counters count answered requests, so a
redelivered request counts again. Labels stay low-cardinality (no user or hold ids)."""
from prometheus_client import Counter, Gauge, Histogram

from shared.events import hold_decisions

HOLDS = Counter("custompass_billing_holds_total", "Hold requests decided", ["result", "reason"])
HELD_QUOTA = Counter("custompass_billing_held_quota_total", "Quota put on hold by placed holds")
TOPUPS = Counter("custompass_billing_topups_total", "Top-ups applied", ["result"])
TOPUP_AMOUNT = Counter("custompass_billing_topup_quota_total", "Quota credited by top-ups")
OPERATION_SECONDS = Histogram("custompass_billing_operation_seconds", "Wallet operation latency",
                              ["operation"], buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
RECOVERED = Counter("custompass_billing_recovered_operations_total", "Stuck operations resumed")
STALE_HOLDS = Gauge("custompass_billing_stale_open_holds", "Holds open longer than STALE_HOLD_AFTER_S")

# Every known series exists from start-up at 0, so rates and alerts see a rise from the first event.
for _decision in hold_decisions():
    HOLDS.labels(*_decision)
for _result in ("applied", "rejected"):
    TOPUPS.labels(_result)
