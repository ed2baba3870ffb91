"""What can go wrong talking to an upstream, each with the answer the gateway gives for it."""
from __future__ import annotations


class UpstreamError(Exception):
    http_status = 502
    code: int | str = "upstream_error"
    # Whether the failure tells about the channel (down, slow, broken, overloaded, misrouted)
    # rather than about the request: such failures count toward the channel's cool-down
    # (services/gateway/routing/health.py) and move a sync call to the next channel (failover.py).
    blames_channel = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UpstreamUnreachable(UpstreamError):
    code = "upstream_unreachable"


class UpstreamNotConnected(UpstreamUnreachable):
    """No connection was made, so the upstream surely never saw the request: safe to send
    elsewhere, even work that must not be done twice."""


class UpstreamTimeout(UpstreamError):
    http_status, code = 504, "upstream_timeout"


class UpstreamMalformed(UpstreamError):
    code = "upstream_malformed"


class UpstreamThrottled(UpstreamError):
    http_status, code = 429, "upstream_throttled"

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamRefused(UpstreamError):
    """The upstream answered with a non-zero `code`: passed through to the caller as it is."""

    def __init__(self, code: int | str, message: str, http_status: int = 502, upstream_status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        # A refusal in the protocol's envelope is about the request, unless the upstream said
        # with its HTTP status that it is itself in trouble.
        self.blames_channel = upstream_status >= 500 or upstream_status == 429


class UpstreamHttpError(UpstreamRefused):
    """An HTTP error status without an envelope: the upstream (or whatever answered in its
    place, e.g. a proxy or a wrong base URL) gave no answer of the protocol."""

    def __init__(self, status_code: int) -> None:
        super().__init__("upstream_http_error", f"upstream answered HTTP {status_code}", 502)
        self.blames_channel = True
