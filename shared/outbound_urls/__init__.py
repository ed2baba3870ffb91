"""One policy for every URL a caller or an upstream gives us to fetch or post to (docs/operations.md,
"Security"): `policy` judges a URL when it is accepted, `transport` judges the address each
connection is made to."""
from shared.outbound_urls.policy import AllowList, OutboundUrlPolicy, OutboundUrlRefused
from shared.outbound_urls.transport import outbound_client

__all__ = ["AllowList", "OutboundUrlPolicy", "OutboundUrlRefused", "outbound_client"]
