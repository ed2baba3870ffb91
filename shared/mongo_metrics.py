"""How much MongoDB work a process does: every command it sends, by command and collection, and the
documents its writes changed. Operators see which service loads the database and with what; the
cost benchmark (`python -m bench cost`) reads the same counters per task.

The listener runs synchronously on every command, so it only reads fields PyMongo has already
decoded, caches its labelled children and keeps state only for writes in flight (the reply holds
the count of documents written, the started event holds the collection)."""
from __future__ import annotations

from prometheus_client import Counter
from pymongo import monitoring

COMMANDS = Counter("custompass_mongo_commands_total", "MongoDB commands sent by this process",
                   ["command", "collection"])
DOCUMENTS_WRITTEN = Counter("custompass_mongo_documents_written_total",
                            "Documents inserted, modified, upserted or deleted by this process's commands",
                            ["collection"])
FAILURES = Counter("custompass_mongo_command_failures_total", "MongoDB commands that failed", ["command"])

WRITE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify"})
# A write whose reply never comes (its connection dropped without an event) must not grow the
# in-flight table for ever; past this many, the oldest are forgotten (their documents go uncounted).
MOST_WRITES_IN_FLIGHT = 10_000


def collection_of(command_name: str, command: dict) -> str:
    """The collection a command addresses; "" for database-level commands (ping, hello,
    endSessions, an aggregate over the database)."""
    if command_name == "getMore":
        target = command.get("collection")
    else:
        target = command.get(command_name)
    return target if isinstance(target, str) else ""


def documents_written(command_name: str, reply: dict, upsert: bool = False) -> int:
    """What a write's reply says it changed: an update that matched without changing anything wrote
    nothing; an upsert wrote one."""
    if command_name == "update":
        return int(reply.get("nModified", 0) or 0) + len(reply.get("upserted") or ())
    if command_name == "findAndModify":
        if "lastErrorObject" in reply:
            return int(reply["lastErrorObject"].get("n", 0) or 0)
        # The nx-27017 stand-in leaves lastErrorObject out: a returned document was matched (and
        # written), an upsert that returned nothing inserted one.
        return int(reply.get("value") is not None or upsert)
    return int(reply.get("n", 0) or 0)  # insert, delete


class CommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self._commands: dict[tuple[str, str], object] = {}
        self._written: dict[str, object] = {}
        self._writes_in_flight: dict[int, tuple[str, bool]] = {}  # request id -> (collection, upsert)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        collection = collection_of(name, event.command)
        counter = self._commands.get((name, collection))
        if counter is None:
            counter = self._commands[(name, collection)] = COMMANDS.labels(name, collection)
        counter.inc()
        if name in WRITE_COMMANDS:
            if len(self._writes_in_flight) >= MOST_WRITES_IN_FLIGHT:
                self._writes_in_flight.pop(next(iter(self._writes_in_flight)))
            self._writes_in_flight[event.request_id] = (collection, bool(event.command.get("upsert")))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        write = self._writes_in_flight.pop(event.request_id, None)
        if write is None:
            return
        collection, upsert = write
        written = documents_written(event.command_name, event.reply, upsert)
        if written:
            counter = self._written.get(collection)
            if counter is None:
                counter = self._written[collection] = DOCUMENTS_WRITTEN.labels(collection)
            counter.inc(written)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._writes_in_flight.pop(event.request_id, None)
        FAILURES.labels(event.command_name).inc()
