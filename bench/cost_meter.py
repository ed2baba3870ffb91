"""What a window of time cost the system: MongoDB commands and documents written, Kafka messages
published (each service's own /metrics: shared/mongo_metrics.py, shared/kafka_metrics.py) and CPU
seconds of every process (/proc). Counts come from the services themselves, so nothing the bench
does to observe them (its own reads of /metrics) adds to them."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.common import cpu_seconds

MONGO_SERVICES = ("gateway", "billing", "poller", "settlement")
COMMANDS = "custompass_mongo_commands_total"
DOCUMENTS = "custompass_mongo_documents_written_total"
MESSAGES = "custompass_kafka_messages_published_total"
SETTLEMENTS = "custompass_settlement_settlements_total"


@dataclass
class Usage:
    """Counts by service, CPU seconds by process, over `wall_s` (a snapshot, or the difference of two)."""
    commands: dict[str, Counter] = field(default_factory=dict)  # service -> (command, collection) -> n
    documents: dict[str, Counter] = field(default_factory=dict)  # service -> collection -> n
    messages: dict[str, Counter] = field(default_factory=dict)  # service -> topic -> n
    cpu_s: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds
    wall_s: float = 0.0

    def minus(self, earlier: "Usage") -> "Usage":
        def each(now: dict[str, Counter], before: dict[str, Counter]) -> dict[str, Counter]:
            return {s: Counter({k: v - before.get(s, Counter())[k] for k, v in c.items()}) for s, c in now.items()}
        return Usage(each(self.commands, earlier.commands), each(self.documents, earlier.documents),
                     each(self.messages, earlier.messages),
                     {p: s - earlier.cpu_s[p] for p, s in self.cpu_s.items() if p in earlier.cpu_s},
                     self.wall_s - earlier.wall_s)

    def beyond(self, idle: "Usage") -> "Usage":
        """This window less what `idle` would have cost over the same wall time (its rates)."""
        scale = self.wall_s / idle.wall_s if idle.wall_s > 0 else 0.0

        def each(now: dict[str, Counter], base: dict[str, Counter]) -> dict[str, Counter]:
            return {s: Counter({k: v - base.get(s, Counter())[k] * scale for k, v in c.items()}) for s, c in now.items()}
        return Usage(each(self.commands, idle.commands), each(self.documents, idle.documents),
                     each(self.messages, idle.messages),
                     {p: s - idle.cpu_s.get(p, 0.0) * scale for p, s in self.cpu_s.items()}, self.wall_s)


class Meter:
    """Reads every service's counters and every process's CPU time."""

    def __init__(self, service_urls: dict[str, str], pids: dict[str, int]) -> None:
        self.service_urls = {s: u for s, u in service_urls.items() if s in MONGO_SERVICES}
        self.pids = pids
        self.http = httpx.AsyncClient(timeout=10)

    async def snapshot(self) -> Usage:
        usage = Usage(wall_s=time.monotonic())
        usage.cpu_s = {name: cpu for name, pid in self.pids.items() if (cpu := cpu_seconds(pid)) is not None}
        for service, url in self.service_urls.items():
            text = (await self.http.get(f"{url}/metrics")).text
            usage.commands[service], usage.documents[service], usage.messages[service] = Counter(), Counter(), Counter()
            for name, labels, value in _samples(text, (COMMANDS, DOCUMENTS, MESSAGES)):
                if name == COMMANDS:
                    usage.commands[service][(labels["command"], labels["collection"])] += value
                elif name == DOCUMENTS:
                    usage.documents[service][labels["collection"]] += value
                else:
                    usage.messages[service][labels["topic"]] += value
        return usage

    async def settlements(self) -> float:
        """Tasks settled so far (settlement's own counter: reading it costs no MongoDB command)."""
        text = (await self.http.get(f"{self.service_urls['settlement']}/metrics")).text
        return sum(value for _, _, value in _samples(text, (SETTLEMENTS,)))

    async def close(self) -> None:
        await self.http.aclose()


def _samples(text: str, names: tuple[str, ...]):
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names:
                yield sample.name, sample.labels, sample.value
