"""The floor under every hold: a bare Kafka round trip with aiokafka, no application code.

request topic -> echo consumer (its own process, like billing) -> reply topic -> waiter in this
process (an assigned consumer from the end, like the gateway's BillingClient). Both consumers
use a short `fetch_max_wait_ms`, as the services' hot-path consumers do; producers use
acks="all" like shared/kafka.py. Topics have 4 partitions (shared.kafka.PARTITIONS).

The echo side runs as `python -m bench.kafka_floor echo ...`.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.common import CpuMeter, Results, closed_loop, median, ms, notes, percentile, spread

PARTITIONS = 4
FETCH_MAX_WAIT_MS = 5
ROOT = Path(__file__).resolve().parent.parent


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    for _ in range(100):
        await consumer._client.force_metadata_update()  # aiokafka has no public call for this
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return [TopicPartition(topic, p) for p in sorted(parts)]
        await asyncio.sleep(0.05)
    raise RuntimeError(f"topic {topic} has no partitions")


async def echo(bootstrap: str, request_topic: str, reply_topic: str) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    partitions = await _partitions(consumer, request_topic)
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)  # fresh topic: everything sent is still to come
    for tp in partitions:
        await consumer.position(tp)
    print("ready", flush=True)
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            # Like billing's handle_batch: the records of a batch are answered concurrently.
            await asyncio.gather(*(producer.send_and_wait(reply_topic, record.value, key=record.key)
                                   for records in batches.values() for record in records))
    finally:
        await consumer.stop()
        await producer.stop()


class RoundTrips:
    """The requesting side: publish, then wait for the echo carrying the same id."""

    def __init__(self, bootstrap: str, request_topic: str, reply_topic: str) -> None:
        self.bootstrap, self.request_topic, self.reply_topic = bootstrap, request_topic, reply_topic
        self.waiters: dict[bytes, asyncio.Future] = {}

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                         fetch_max_wait_ms=FETCH_MAX_WAIT_MS)
        await self.consumer.start()
        partitions = await _partitions(self.consumer, self.reply_topic)
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)
        self.reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)
        await self.consumer.stop()
        await self.producer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    future = self.waiters.pop(record.value, None)
                    if future is not None and not future.done():
                        future.set_result(None)

    async def round_trip(self, i: int) -> None:
        ident = f"{i}-{secrets.token_hex(4)}".encode()
        future = self.waiters[ident] = asyncio.get_running_loop().create_future()
        await self.producer.send_and_wait(self.request_topic, ident, key=ident)
        await asyncio.wait_for(future, 30)


async def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        await admin.close()


async def run(bootstrap: str, results: Results, infra_pids: dict[str, int], *, concurrency: int,
              count: int, sequential: int, repeats: int) -> dict[str, float]:
    """Returns the floor's p50 at concurrency 1 and at `concurrency`, for the holds' ratios."""
    prefix = f"bench{secrets.token_hex(3)}."
    request_topic, reply_topic = prefix + "floor.request", prefix + "floor.reply"
    await create_topics(bootstrap, [request_topic, reply_topic])
    proc = subprocess.Popen([sys.executable, "-m", "bench.kafka_floor", "echo", "--bootstrap", bootstrap,
                             "--request", request_topic, "--reply", reply_topic],
                            cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"echo process did not start (exit {proc.poll()})")
        trips = RoundTrips(bootstrap, request_topic, reply_topic)
        await trips.start()
        try:
            await closed_loop(1, 30, trips.round_trip)  # warm-up: connections, metadata
            seq_p50, seq_p99, failures = [], [], []
            for _ in range(repeats):
                lat, _, errors = await closed_loop(1, sequential, trips.round_trip)
                failures += errors
                seq_p50.append(percentile(lat, 50))
                seq_p99.append(percentile(lat, 99))
            conc_p50, conc_p99, rates = [], [], []
            meter = CpuMeter({**infra_pids, "echo process": proc.pid, "bench (this process)": _self_pid()})
            meter.start()
            for _ in range(repeats):
                lat, wall, errors = await closed_loop(concurrency, count, trips.round_trip)
                failures += errors
                conc_p50.append(percentile(lat, 50))
                conc_p99.append(percentile(lat, 99))
                rates.append(len(lat) / wall)
            meter.stop()
        finally:
            await trips.stop()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    note = f"fetch_max_wait_ms={FETCH_MAX_WAIT_MS} on both consumers"
    results.add("kafka floor", "round trip p50, c=1", ms(median(seq_p50)),
                notes(f"{sequential} sequential", note, spread([v * 1000 for v in seq_p50])))
    results.add("kafka floor", "round trip p99, c=1", ms(median(seq_p99)), spread([v * 1000 for v in seq_p99]))
    results.add("kafka floor", f"round trip p50, c={concurrency}", ms(median(conc_p50)),
                notes(f"{count} round trips per repeat", spread([v * 1000 for v in conc_p50])))
    results.add("kafka floor", f"round trip p99, c={concurrency}", ms(median(conc_p99)),
                spread([v * 1000 for v in conc_p99]))
    results.add("kafka floor", f"round trips/s, c={concurrency}", f"{median(rates):,.0f}/s",
                spread(rates, "{:,.0f}"))
    if failures:
        results.add("kafka floor", "failed round trips", str(len(failures)), repr(failures[0])[:200])
    results.detail(f"kafka floor, c={concurrency}: " + meter.summary())
    return {"p50_c1": median(seq_p50), "p50_conc": median(conc_p50), "p99_conc": median(conc_p99),
            "p99_c1": median(seq_p99)}


def _self_pid() -> int:
    return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kafka_floor")
    sub = parser.add_subparsers(dest="command", required=True)
    p_echo = sub.add_parser("echo", help="the answering side of the round trip")
    p_echo.add_argument("--bootstrap", required=True)
    p_echo.add_argument("--request", required=True)
    p_echo.add_argument("--reply", required=True)
    args = parser.parse_args()
    try:
        asyncio.run(echo(args.bootstrap, args.request, args.reply))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
