from prometheus_client import Counter, Histogram

SETTLEMENTS = Counter("custompass_settlement_settlements_total", "Tasks settled", ["outcome"])
SETTLED_QUOTA = Counter("custompass_settlement_quota_total", "Quota moved by settlement", ["kind"])
LAG_SECONDS = Histogram("custompass_settlement_lag_seconds", "From terminal status to settled",
                        buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
LOGS_WRITTEN = Counter("custompass_settlement_consumption_logs_total", "Consumption logs written")
DEBTS = Counter("custompass_settlement_debts_total", "Settlements that recorded an uncovered shortfall")
RECONCILED = Counter("custompass_settlement_reconciled_total", "Tasks settled by the reconciliation sweep")
CALLBACKS = Counter("custompass_settlement_callbacks_total", "Task callbacks", ["result"])
