"""`python -m bench cost` keeps working: a few tasks per path, and every figure the report quotes is
there and counts something. Structure and positive counts only: speeds belong in the benchmark."""
from __future__ import annotations

import pytest

from bench import cost
from bench.common import Results
from bench.cost_meter import MONGO_SERVICES
from bench.cost_paths import PATHS
from bench.env import bench_env

pytestmark = pytest.mark.slow


async def test_cost_benchmark_counts_commands_documents_messages_and_cpu_for_every_path():
    results = Results()
    with bench_env() as env:
        figures = await cost.run(env, results, tasks=4, concurrency=2, workers=2, idle_s=1.0,
                                 poll_interval=0.2, done_after=0.1, settle_timeout=60)
    assert set(figures.paths) == set(PATHS)
    for path, measured in figures.paths.items():
        assert measured.tasks == measured.accepted == 4 and measured.settled >= 4, (path, measured.failed)
        window = measured.window
        assert set(window.commands) == set(MONGO_SERVICES)
        # The poller only works on async tasks, and billing only when asked for holds (HOLD_PLACEMENT=billing).
        for service in ("gateway", "settlement"):
            assert sum(window.commands[service].values()) > 0, (path, service)
            assert sum(window.documents[service].values()) > 0, (path, service)
        assert sum(sum(c.values()) for c in window.messages.values()) > 0, path
        assert {"gateway", "billing", "poller", "settlement", "tansu", "nx-27017"} <= set(window.cpu_s)
        assert window.wall_s > 0
    assert sum(figures.paths["async"].window.commands["poller"].values()) > 0
    for idle in (figures.idle, figures.idle_with_workers, figures.idle_after):
        assert idle.wall_s >= 1.0 and set(idle.commands) == set(MONGO_SERVICES)
    scenarios = {row.scenario for row in results.rows}
    assert {f"cost {p}" for p in PATHS} | {"cost idle"} <= scenarios
    figure_names = {row.figure for row in results.rows}
    assert any(name.startswith("MongoDB commands per task") for name in figure_names)
    titles = [title for title, _ in results.sections]
    assert "Cost per task (idle rate subtracted)" in titles
    assert all(markdown.startswith("| ") for _, markdown in results.sections)
