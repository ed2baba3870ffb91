"""Settlement's Prometheus metrics. Amounts are quota units; labels stay low-cardinality."""
from prometheus_client import Counter, Histogram

from shared.task_record import Task

SETTLEMENTS = Counter("custompass_settlement_settlements_total", "Tasks settled", ["outcome"])
# kind: charged (captured cost), refunded (hold released back), debt (shortfall the wallet could not cover)
SETTLED_QUOTA = Counter("custompass_settlement_quota_total", "Quota moved by settlement", ["kind"])
HOLD_QUOTA = Counter("custompass_settlement_hold_quota_total", "Held quota closed, by how the hold ended",
                     ["outcome"])
LAG_SECONDS = Histogram("custompass_settlement_lag_seconds", "From terminal status to settled",
                        buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
LOGS_WRITTEN = Counter("custompass_settlement_consumption_logs_total", "Consumption logs written")
DEBTS = Counter("custompass_settlement_debts_total", "Settlements that recorded an uncovered shortfall")
RECONCILED = Counter("custompass_settlement_reconciled_total", "Tasks settled by the reconciliation sweep")
# Per channel, what we charged and what its upstream says it cost (quota units), for the margin:
# custompass:channel_margin_quota:1h in deploy/k8s/base/prometheusrule.yaml subtracts their increases.
CHANNEL_REVENUE = Counter("custompass_settlement_channel_revenue_quota_total",
                          "Quota charged for the settled tasks of a channel", ["channel"])
CHANNEL_UPSTREAM_COST = Counter("custompass_settlement_channel_upstream_cost_quota_total",
                                "Upstream cost reported for the settled tasks of a channel, in quota", ["channel"])
CAPPED = Counter("custompass_settlement_capped_total",
                 "Settlements a channel guardrail capped at the hold, flagged for review", ["channel"])
CALLBACKS = Counter("custompass_settlement_callbacks_total", "Task callbacks", ["result"])

# Every known series exists from start-up at 0, so rates and alerts see a rise from the first event.
for _outcome in ("captured", "voided", "nothing"):  # nothing: the hold never held money
    SETTLEMENTS.labels(_outcome)
    HOLD_QUOTA.labels(_outcome)
for _kind in ("charged", "refunded", "debt"):
    SETTLED_QUOTA.labels(_kind)
for _result in ("delivered", "failed", "refused"):  # refused: the outbound-URL policy, at connect time
    CALLBACKS.labels(_result)


def count_margin(task: Task, charged: int) -> None:
    """Counts a settled task's charge and upstream cost on its channel (tasks without one: none)."""
    if not task.channel_id:
        return
    CHANNEL_REVENUE.labels(task.channel_id).inc(charged)
    CHANNEL_UPSTREAM_COST.labels(task.channel_id).inc(task.upstream_quota)
