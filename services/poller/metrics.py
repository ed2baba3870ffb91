from prometheus_client import Counter, Histogram

SWEEP_SECONDS = Histogram("custompass_poller_sweep_seconds", "Duration of one polling sweep",
                          buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
TASKS_POLLED = Counter("custompass_poller_tasks_polled_total", "Tasks whose status was queried upstream")
UPSTREAM_REQUESTS = Counter("custompass_poller_upstream_requests_total", "Batch status queries sent upstream",
                            ["channel", "outcome"])
STATUS_CHANGES = Counter("custompass_poller_status_changes_total", "Status changes published", ["status"])
FAILED_WITHOUT_POLL = Counter("custompass_poller_tasks_failed_total", "Tasks failed by the poller itself",
                              ["reason"])
