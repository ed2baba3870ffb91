from prometheus_client import Counter, Gauge, Histogram

from shared.events import hold_decisions

REQUESTS = Counter("custompass_gateway_requests_total", "HTTP requests", ["route", "method", "status"])
REQUEST_SECONDS = Histogram("custompass_gateway_request_seconds", "HTTP request latency", ["route", "method"],
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
HOLD_REPLY_SECONDS = Histogram("custompass_gateway_hold_reply_seconds",
                               "How long a hold waits for its decision (billing's reply, or this gateway's write)",
                               buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
HOLDS = Counter("custompass_gateway_holds_total", "Holds this gateway decided itself (HOLD_PLACEMENT=gateway)",
                ["result", "reason"])
HELD_QUOTA = Counter("custompass_gateway_held_quota_total", "Quota put on hold by holds this gateway placed")
for _decision in hold_decisions():
    HOLDS.labels(*_decision)
HOLDS_WAITING = Gauge("custompass_gateway_holds_waiting", "Holds waiting for a turn to be sent to billing")
BILLING_TIMEOUTS = Counter("custompass_gateway_billing_timeouts_total", "Billing requests unanswered in time")
WS_WORKERS = Gauge("custompass_gateway_ws_workers", "Worker WebSockets open on this process", ["group"])
QUEUE_DEPTH = Gauge("custompass_gateway_queue_depth", "Worker tasks queued in the group (all instances)", ["group"])
