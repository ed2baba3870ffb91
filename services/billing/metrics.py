from prometheus_client import Counter, Histogram

HOLDS = Counter("custompass_billing_holds_total", "Hold requests decided", ["result", "reason"])
TOPUPS = Counter("custompass_billing_topups_total", "Top-ups applied", ["result"])
TOPUP_AMOUNT = Counter("custompass_billing_topup_quota_total", "Quota credited by top-ups")
OPERATION_SECONDS = Histogram("custompass_billing_operation_seconds", "Wallet operation latency",
                              ["operation"], buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
RECOVERED = Counter("custompass_billing_recovered_operations_total", "Stuck operations resumed")
