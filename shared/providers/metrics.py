"""Metrics of upstream providers, exported by whichever process talks to them."""
from prometheus_client import Counter

# Alert on any increase: the upstream account behind the channel ran dry and every task fails.
UPSTREAM_WALLET_EMPTY = Counter("custompass_upstream_wallet_empty_total",
                                "Upstream refusals because the channel's upstream account has no balance", ["channel"])
# reason: not_a_number, negative or too_large (shared/upstream_cost.py); the task keeps no upstream cost.
UPSTREAM_COST_REJECTED = Counter("custompass_upstream_cost_rejected_total",
                                 "Upstream cost figures ignored as unbelievable", ["channel", "reason"])
# status: late_success or late_failure (shared/late_results.py): an upstream finished a task after
# we failed it on timeout and refunded it; a late success is upstream cost nobody was charged for.
LATE_RESULTS = Counter("custompass_late_results_total",
                       "Upstream reports recorded for tasks already failed on timeout", ["channel", "status"])
