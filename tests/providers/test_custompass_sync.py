"""The `custompass_sync` provider (shared/providers/custompass_sync.py) against a scripted
upstream: the call goes upstream as the caller sent it, a whole answer comes back judged and a
stream unread; its quote on a precharge channel prices from the answer, a stream being the real
result. How its quote decides the hold at all: tests/providers/test_custompass_precharge.py."""
from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from shared.providers import registry
from shared.providers.base import UpstreamContext
from shared.providers.custompass_sync import CustomPassSyncProvider
from shared.settings import CustomPassSettings
from shared.upstream.caller_token import UpstreamCaller
from shared.upstream.errors import UpstreamRefused
from tests.channel_records import channel_of

PROVIDER = CustomPassSyncProvider()
CALLER = UpstreamCaller(credential="sk-caller", user_ref="uref_1")
BILLING = {"mode": "per_usage", "price": 100, "precharge": 8}
STREAM = b'data: {"delta": "hi"}\n\ndata: {"usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}\n\n'
Upstream = Callable[[httpx.Request], httpx.Response]


def _streamed() -> httpx.Response:
    """An event stream sent as it is read, as a real upstream's arrives."""
    async def events():
        yield STREAM
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=events())


def _answer_with(response: httpx.Response, seen: list[httpx.Request]) -> Upstream:
    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response
    return upstream


def _context(http: httpx.AsyncClient) -> UpstreamContext:
    return UpstreamContext(http=http, settings=CustomPassSettings(), caller=CALLER)


def _channel(**stored):
    return channel_of("ch", kind="custompass_sync", base_url="http://up/", api_key="k", billing=BILLING, **stored)


def test_the_registry_serves_custompass_sync_and_keeps_it_out_of_the_async_kinds():
    assert registry.sync_provider_for("custompass_sync") is not None and "custompass_sync" in registry.sync_kinds()
    assert registry.provider_for("custompass_sync") is None and "custompass_sync" not in registry.async_kinds()
    assert registry.sync_provider_for("custompass_async") is None and "custompass_async" not in registry.sync_kinds()


async def test_a_call_sends_the_body_and_query_unchanged_with_both_credentials():
    seen: list[httpx.Request] = []
    whole = httpx.Response(200, json={"code": 0, "data": {"text": "hi"}, "usage": {
        "prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
    async with httpx.AsyncClient(transport=httpx.MockTransport(_answer_with(whole, seen))) as http:
        answer = await PROVIDER.call(_context(http), _channel(caller_token="key"), "chat-x", b'[1, "x"]', "a=1")
    [request] = seen
    assert (str(request.url), request.content) == ("http://up/chat-x?a=1", b'[1, "x"]')
    assert (request.headers["authorization"], request.headers["x-custom-token"]) == ("Bearer k", "sk-caller")
    assert answer.envelope.usage["total_tokens"] == 7 and json.loads(answer.response.content)["data"] == {"text": "hi"}


async def test_a_refusal_raises_the_upstreams_own_code_and_status():
    refusal = httpx.Response(403, json={"code": 4031, "message": "not for you"})
    async with httpx.AsyncClient(transport=httpx.MockTransport(_answer_with(refusal, []))) as http:
        with pytest.raises(UpstreamRefused) as raised:
            await PROVIDER.call(_context(http), _channel(), "chat-x", b"{}", "")
    assert (raised.value.code, raised.value.message, raised.value.http_status) == (4031, "not for you", 403)


async def test_a_stream_is_answered_unread_and_read_through_its_call():
    async with httpx.AsyncClient(transport=httpx.MockTransport(_answer_with(_streamed(), []))) as http:
        answer = await PROVIDER.call(_context(http), _channel(timeout_s=7), "chat-x", b"{}", "")
        assert answer.envelope is None and not answer.response.is_stream_consumed
        assert answer.call.timeout_s == 7 and await answer.response.aread() == STREAM
        await answer.response.aclose()


async def test_a_precharge_request_answered_with_a_stream_holds_the_channel_precharge_and_keeps_the_stream():
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(_answer_with(_streamed(), seen))) as http:
        quote = await PROVIDER.quote(_context(http), _channel(upstream_precharge=True), "chat-x", b'{"p": 1}', "")
        assert quote.amount == 8 and quote.answer.envelope is None and not quote.answer.response.is_stream_consumed
        assert await quote.answer.response.aread() == STREAM
        await quote.answer.response.aclose()
    assert [json.loads(r.content) for r in seen] == [{"p": 1, "precharge": True}]


def test_a_call_waits_the_channels_timeout_else_the_configured_one():
    http = httpx.AsyncClient()
    assert PROVIDER.timeout_s(_context(http), _channel(timeout_s=7)) == 7
    assert PROVIDER.timeout_s(_context(http), _channel()) == CustomPassSettings().custom_pass_request_timeout
