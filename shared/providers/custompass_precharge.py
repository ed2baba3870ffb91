"""The hold of a new call on a CustomPass channel, decided once for both of its providers
(`custompass_async`, `custompass_sync`), which differ only in how they send the precharge request
(docs/upstream-protocol.md, the precharge row of Requests and the last point of Answers)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from shared.channels import Channel
from shared.providers.base import InvalidBody
from shared.upstream import custompass

Answer = TypeVar("Answer")
# Sends the precharge request body upstream; answers what came back with its judged envelope, or
# None for an answer with no envelope to read before relaying it (a stream: the real result).
Ask = Callable[[bytes], Awaitable[tuple[Answer, custompass.Envelope | None]]]


async def precharge_hold(channel: Channel, body: bytes, ask: Ask[Answer]) -> tuple[int, Answer | None]:
    """The hold amount, and the upstream's answer when the precharge request got the real result.
    Without `upstream_precharge` the channel's own precharge is held and nothing is asked; else the
    caller's body goes upstream with `"precharge": true` (`ask`), and the answer prices the hold
    (`custompass.hold_for_precharge_answer`). A body that is not a JSON object raises `InvalidBody`."""
    if not channel.upstream_precharge:
        return channel.hold_amount(), None
    try:
        request = custompass.with_precharge_flag(body)
    except ValueError:
        raise InvalidBody("this model needs a JSON object body") from None
    answer, envelope = await ask(request)
    if envelope is None:
        return channel.hold_amount(), answer
    amount, result = custompass.hold_for_precharge_answer(channel, envelope)
    return amount, answer if result is not None else None
