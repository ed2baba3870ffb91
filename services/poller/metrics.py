"""The poller's Prometheus metrics. `channel` is the channel id: admins create a handful of
channels, so it stays low-cardinality; task and user ids never become labels."""
from prometheus_client import Counter, Gauge, Histogram

SWEEP_SECONDS = Histogram("custompass_poller_sweep_seconds", "Duration of one polling sweep",
                          buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
# "Poller not sweeping" alerts on this: a sweep that keeps failing still records its duration.
LAST_SWEEP = Gauge("custompass_poller_last_sweep_timestamp_seconds", "Unix time the last sweep completed")
TASKS_CLAIMED = Counter("custompass_poller_tasks_claimed_total", "Due tasks leased by sweeps")
TASKS_POLLED = Counter("custompass_poller_tasks_polled_total", "Tasks whose status was queried upstream")
# outcome: ok, or the error class (UpstreamTimeout, UpstreamThrottled, ...): errors are outcome != "ok".
UPSTREAM_REQUESTS = Counter("custompass_poller_upstream_requests_total", "Batch status queries sent upstream",
                            ["channel", "outcome"])
STATUS_CHANGES = Counter("custompass_poller_status_changes_total", "Status changes published", ["status"])
# reason: timeout (past its lifetime), never_submitted, channel_unavailable
FAILED_WITHOUT_POLL = Counter("custompass_poller_tasks_failed_total", "Tasks failed by the poller itself",
                              ["reason"])

# Seed 002's batch sync summary, summed over sweeps; outcome: updated, succeeded, failed,
# still_processing, errors (failed status queries).
SYNC_SUMMARY = Counter("custompass_poller_sync_summary_total", "Per-sweep batch sync summary, summed", ["outcome"])
SUMMARY_OUTCOMES = ("updated", "succeeded", "failed", "still_processing", "errors")

# Every known series exists from start-up at 0, so rates and alerts see a rise from the first event.
for _reason in ("timeout", "never_submitted", "channel_unavailable"):
    FAILED_WITHOUT_POLL.labels(_reason)
for _outcome in SUMMARY_OUTCOMES:
    SYNC_SUMMARY.labels(_outcome)
