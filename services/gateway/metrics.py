from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("custompass_gateway_requests_total", "HTTP requests", ["route", "method", "status"])
REQUEST_SECONDS = Histogram("custompass_gateway_request_seconds", "HTTP request latency", ["route", "method"],
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
HOLD_REPLY_SECONDS = Histogram("custompass_gateway_hold_reply_seconds", "Hold request/reply round trip",
                               buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))
HOLDS_WAITING = Gauge("custompass_gateway_holds_waiting", "Holds waiting for a turn to be sent to billing")
BILLING_TIMEOUTS = Counter("custompass_gateway_billing_timeouts_total", "Billing requests unanswered in time")
WS_WORKERS = Gauge("custompass_gateway_ws_workers", "Worker WebSockets open on this process", ["group"])
QUEUE_DEPTH = Gauge("custompass_gateway_queue_depth", "Worker tasks queued in the group (all instances)", ["group"])
