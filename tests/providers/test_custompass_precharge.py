"""The hold of a new call on a CustomPass channel is decided once (shared/providers/custompass_precharge.py):
the async and the sync provider price alike, whichever way each sends the precharge request."""
from __future__ import annotations

import json

import httpx
import pytest

from shared.providers.base import InvalidBody, UpstreamContext
from shared.providers.custompass_async import CustomPassProvider
from shared.providers.custompass_sync import CustomPassSyncProvider
from shared.settings import CustomPassSettings
from tests.channel_records import channel_of

BILLING = {"mode": "per_usage", "price": 100, "precharge": 8}
ESTIMATE = {"prompt_tokens": 100, "completion_tokens": 100, "total_tokens": 200}  # 200 tokens x 100 / 1000 = 20
REAL = {"code": 0, "data": {"task_id": "up-1"}, "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                                           "total_tokens": 2}}


def _async_result(quote) -> str | None:
    return quote.accepted.upstream_task_id if quote.accepted is not None else None


def _sync_result(quote) -> str | None:
    return quote.answer.envelope.data["task_id"] if quote.answer is not None else None


# Each provider, the path its precharge request takes, and the real result its quote hands on.
PROVIDERS = pytest.mark.parametrize("provider,path,result", [
    (CustomPassProvider(), "/m/submit", _async_result),
    (CustomPassSyncProvider(), "/m", _sync_result),
], ids=["async", "sync"])


async def _quote(provider, answer: dict, seen: list[httpx.Request], body: bytes = b'{"prompt": "p"}', **stored):
    """The provider's quote on a channel of these `stored` fields whose upstream answers `answer`
    and keeps the requests it takes in `seen`."""
    async def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
        ctx = UpstreamContext(http=http, settings=CustomPassSettings())
        channel = channel_of("ch", base_url="http://up", api_key="k", billing=BILLING, **stored)
        return await provider.quote(ctx, channel, "m", body, "q=1")


@PROVIDERS
async def test_without_upstream_precharge_the_channel_precharge_is_held_and_nothing_asked(provider, path, result):
    seen: list[httpx.Request] = []
    quote = await _quote(provider, REAL, seen)
    assert (quote.amount, result(quote), seen) == (8, None, [])


@PROVIDERS
async def test_a_precharge_answer_prices_the_hold_from_its_estimate(provider, path, result):
    seen: list[httpx.Request] = []
    quote = await _quote(provider, {"code": 0, "type": "precharge", "usage": ESTIMATE}, seen, upstream_precharge=True)
    assert (quote.amount, result(quote)) == (20, None)
    [request] = seen
    assert (request.url.path, request.url.query) == (path, b"q=1")
    assert json.loads(request.content) == {"prompt": "p", "precharge": True}


@PROVIDERS
async def test_a_precharge_request_answered_for_real_holds_the_channel_precharge_and_keeps_the_result(
        provider, path, result):
    seen: list[httpx.Request] = []
    quote = await _quote(provider, REAL, seen, upstream_precharge=True)
    assert (quote.amount, result(quote), len(seen)) == (8, "up-1", 1)


@PROVIDERS
async def test_with_upstream_precharge_a_body_that_is_not_a_json_object_is_refused_unsent(provider, path, result):
    seen: list[httpx.Request] = []
    with pytest.raises(InvalidBody, match="this model needs a JSON object body"):
        await _quote(provider, REAL, seen, body=b"[1, 2]", upstream_precharge=True)
    assert seen == []
