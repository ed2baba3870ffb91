"""When a failed attempt moves the work to the next channel. One rule for every path: channels are
tried in selection order; every attempt's outcome is scored (`health`); a failure moves the work
on when the path's policy says it may and a next channel is left, and any other failure is the
path's to answer. Each path that talks to upstreams states its policy here:

- async submit (`async_submit_moves_on`): only when no connection was made;
- sync call (`sync_call_moves_on`): when the channel is to blame.

Worker dispatch makes no upstream attempt (a worker of the group takes the task from its queue),
so nothing of it fails over: its rule is the choice of channel, which skips cool-downs like the
others (`selection.worker_channel`).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.gateway.routing.health import ChannelHealth
from shared.channels import Channel
from shared.upstream.errors import UpstreamError, UpstreamNotConnected

Result = TypeVar("Result")
MovesOn = Callable[[UpstreamError], bool]


def async_submit_moves_on(error: UpstreamError) -> bool:
    """The upstream surely never saw a request it was never connected for; after any other
    failure (a timeout, an answer we could not read) it may have accepted the task, and a
    submit elsewhere could run, and bill, the work twice."""
    return isinstance(error, UpstreamNotConnected)


def sync_call_moves_on(error: UpstreamError) -> bool:
    """A sync call is tried before any byte reaches the client, so any failure of the channel
    (unreachable, timeout, HTTP 5xx/429, malformed answer) may go elsewhere; a refusal of the
    request (`code` != 0 below HTTP 500) is the answer, passed through as it is."""
    return error.blames_channel


@dataclass(frozen=True)
class Served(Generic[Result]):
    result: Result
    channel: Channel
    # A channel after the first served: the task, opened on the first, must name this one.
    moved: bool


async def try_channels(channels: list[Channel], attempt: Callable[[Channel], Awaitable[Result]],
                       moves_on: MovesOn, health: ChannelHealth) -> Served[Result]:
    """Runs `attempt` on each channel in order until one succeeds. An `UpstreamError` the policy
    `moves_on` lets through passes the work to the next channel; the last channel's failure, or
    one the policy keeps, is raised as it is. Other exceptions (not about the channel) are
    raised at once and leave the channel's score alone."""
    for index, channel in enumerate(channels):
        try:
            result = await attempt(channel)
        except UpstreamError as error:
            await health.record(channel, error)
            if moves_on(error) and index < len(channels) - 1:
                continue
            raise
        await health.record(channel, None)
        return Served(result, channel, moved=index > 0)
    raise ValueError("no channel to try")
