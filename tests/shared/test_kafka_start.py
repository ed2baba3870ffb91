"""shared/kafka.py's start_broker: FastStream's own start, with the subscribers started together.

No broker is reached: connecting and each start are replaced by recorders, so what is checked is
the order of the steps, which FastStream's `start()` is run through the same way to compare."""
from __future__ import annotations

import asyncio

from faststream.kafka import KafkaBroker

from shared.kafka import start_broker


def _recorded_broker(steps: list[str]) -> KafkaBroker:
    """Two durable subscribers (two groups, as billing has) and a publisher, each start recorded;
    a subscriber's start waits a moment, as a group join does."""
    broker = KafkaBroker("127.0.0.1:1")

    @broker.subscriber("first", group_id="one")
    async def first(message: str) -> None: ...

    @broker.subscriber("second", group_id="two")
    async def second(message: str) -> None: ...

    broker.publisher("out")

    async def connect() -> None:
        steps.append("connect")
    broker.connect = connect
    for subscriber in broker.subscribers:
        async def joined(name: str = subscriber.topics[0].name) -> None:
            steps.append(f"join {name}")
            await asyncio.sleep(0.01)
            steps.append(f"joined {name}")
        subscriber.start = joined
    for publisher in broker.publishers:
        async def started() -> None:
            steps.append("publisher")
        publisher.start = started
    return broker


async def test_every_subscriber_joins_before_any_has_finished_joining():
    steps: list[str] = []
    broker = _recorded_broker(steps)
    await start_broker(broker)
    assert steps[0] == "connect" and steps[-1] == "publisher"
    assert set(steps[1:3]) == {"join first", "join second"}  # neither waited for the other's join
    assert broker.running


async def test_it_takes_the_same_steps_as_faststreams_own_start():
    ours: list[str] = []
    theirs: list[str] = []
    broker = _recorded_broker(ours)
    await start_broker(broker)
    reference = _recorded_broker(theirs)
    await reference.start()
    assert sorted(ours) == sorted(theirs) and ours[0] == theirs[0] and ours[-1] == theirs[-1]
    assert broker.running == reference.running
