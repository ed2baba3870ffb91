"""The chaos run, shortened for CI: a fixed seed, every kind of fault, the checker's verdict.
`make chaos` is the same run, longer. The run has a broker of its own, so stopping and
restarting it touches no other test."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS
from tools import devinfra
from tools.chaos.runner import run
from tools.chaos.schedule import BROKER, CRASHES, KILLS, ROLLING, fault_schedule

SEED = 10
DURATION_S = 45.0

pytestmark = pytest.mark.chaos


def test_the_schedule_is_the_seeds_and_strikes_every_process_and_every_dual_write_gap():
    schedule = fault_schedule(SEED, DURATION_S, broker=True)
    assert schedule == fault_schedule(SEED, DURATION_S, broker=True)
    assert schedule != fault_schedule(SEED + 1, DURATION_S, broker=True)
    assert set(KILLS) | set(CRASHES) | {ROLLING, BROKER} <= {fault.kind for fault in schedule}
    assert [fault.kind for fault in schedule[-2:]] == [ROLLING, BROKER]


@pytest.fixture
def own_broker(infra: devinfra.Infra) -> Iterator[tuple[devinfra.Infra, Path]]:
    state_dir = ARTIFACTS / f"chaos-{SEED}" / "broker"
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        yield replace(infra, kafka_bootstrap_servers=devinfra.start_kafka(state_dir)), state_dir
    finally:
        devinfra.down(state_dir)


@pytest.mark.timeout(900)
def test_no_money_or_task_is_lost_or_invented_under_faults(own_broker):
    infra, broker_dir = own_broker
    report = run(infra, SEED, DURATION_S, ARTIFACTS / f"chaos-{SEED}", broker_dir)
    print(report.render())
    assert report.passed, report.render()
    assert any(ROLLING in line and "exited in" in line for line in report.faults), report.render()
    assert len(report.faults) >= len(fault_schedule(SEED, DURATION_S, broker=True))
    assert sum(report.task_statuses.values()) > 50
