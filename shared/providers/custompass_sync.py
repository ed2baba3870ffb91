"""`custompass_sync` channels: the CustomPass upstream protocol's sync call
(shared/upstream/custompass.py) behind the `SyncProvider` seam. The caller's body and query
string go upstream unchanged; the answer comes back with its headers in and, unless it is an
event stream, its body read and judged, so the gateway can answer it whole or relay the stream as
it arrives (services/gateway/sync_pass.py)."""
from __future__ import annotations

import httpx

from shared.channels import Channel
from shared.providers.base import SyncAnswer, SyncQuote, UpstreamContext
from shared.providers.custompass_precharge import precharge_hold
from shared.upstream import custompass
from shared.upstream.sse import is_event_stream


class CustomPassSyncProvider:
    kind = "custompass_sync"

    def timeout_s(self, ctx: UpstreamContext, channel: Channel) -> float:
        return _call(ctx, channel).timeout_s

    async def quote(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                    query: str) -> SyncQuote:
        """With upstream precharge the upstream estimates the hold (`custompass_precharge`); an
        answer that is not a precharge answer, a stream always, is the call's real result."""
        async def ask(request: bytes) -> tuple[SyncAnswer, custompass.Envelope | None]:
            answer = await self.call(ctx, channel, model, request, query)
            return answer, answer.envelope
        amount, answer = await precharge_hold(channel, body, ask)
        return SyncQuote(amount, answer)

    async def call(self, ctx: UpstreamContext, channel: Channel, model: str, body: bytes,
                   query: str) -> SyncAnswer:
        """A refusal or a failure of the upstream raises its `UpstreamError`, the answer closed."""
        call = _call(ctx, channel)
        response = await custompass.open_answer(ctx.http, call, model, body, query)
        return SyncAnswer(response, await _judge(response, call), call)


def _call(ctx: UpstreamContext, channel: Channel) -> custompass.UpstreamCall:
    return custompass.call_for_channel(channel, ctx.caller, ctx.settings)


async def _judge(answer: httpx.Response, call: custompass.UpstreamCall) -> custompass.Envelope | None:
    """A whole answer's accepted envelope (its body read, and kept on the response); None for a
    stream, which is relayed unread."""
    if answer.status_code < 400 and is_event_stream(answer.headers.get("content-type")):
        return None
    return custompass.accepted(answer.status_code, await custompass.read_answer(answer, call))
