"""A parallel run fails unless every test it collected ran.

`make test` spreads the suite over processes with pytest-xdist. Its schedulers that group tests
(`--dist loadfile`, `loadscope`, `loadgroup`) file each test under its node id, and tests that share
one collapse into a single test: the schemathesis fuzzing (tests/contracts/test_api_fuzzing.py)
collects one test per API operation, all under the same id, and under `loadfile` 1 of its 58 ran,
with the run reported green. `worksteal` and `load` schedule by position and run them all.

This plugin, active in the controller of a distributed run only, counts a test as run when its
teardown is reported, and turns a run that would pass into a failure, naming the shortfall, when
fewer ran than the workers collected.
"""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    distributed = config.pluginmanager.has_plugin("xdist") and config.getoption("dist") != "no"
    if distributed and not hasattr(config, "workerinput"):  # the controller, not a worker
        config.pluginmanager.register(_Tally(config), "custompass-whole-run")


class _Tally:
    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self.collected: int | None = None
        self.ran = 0

    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        self.collected = len(ids)  # every worker collects the same tests (xdist checks)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self.ran += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus != pytest.ExitCode.OK or self.collected is None or self.ran >= self.collected:
            return
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        message = (f"only {self.ran} of the {self.collected} tests collected ran: tests that share a node id "
                   f"were merged by the scheduler (use --dist worksteal; tests/harness/whole_run.py)")
        if reporter is not None:
            reporter.write_line(message, red=True, bold=True)
