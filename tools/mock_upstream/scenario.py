"""Scripted outcomes and the in-memory state of the mock CustomPass upstream.

Tests choose what the upstream does through a ``"mock"`` object in the request body
(the gateway forwards bodies untouched) or through a per-model default scenario.
A task keeps the scenario it was submitted with, so later changes to the defaults
never rewrite the history of tasks already in flight.
"""
from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["success", "fail", "never", "error", "http_error", "malformed"]

# Long demos would otherwise grow the request log without bound.
MAX_RECORDED_REQUESTS = 10_000
RATE_WINDOW_SECONDS = 1.0
# Fault fields that act on status queries (`/_mock/faults`); the others act on submits and sync calls.
STATUS_FAULT_FIELDS = ("rate_limit", "poll_delay_ms")


class UsageSpec(BaseModel):
    # A typo in a test's scenario should fail loudly rather than silently use defaults.
    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = Field(10, ge=0)
    completion_tokens: int = Field(20, ge=0)
    cost: float | str | None = None  # a string: an upstream that writes its cost badly (tests)

    def as_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        if self.cost is not None:
            wire["cost"] = self.cost
        return wire


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = "success"
    polls_before_done: int = Field(1, ge=0)
    # Set: the task finishes this long after its submit, whoever asks when (polls_before_done is then
    # ignored), so a benchmark knows the instant of completion and can time what follows it.
    done_after_ms: int | None = Field(None, ge=0)
    usage: UsageSpec = Field(default_factory=UsageSpec)
    precharge: bool = False
    precharge_usage: UsageSpec | None = None
    error_code: int = 5001
    error_message: str = "upstream refused"
    fail_error: str = "generation failed"
    http_status: int = Field(500, ge=100, le=599)
    # "malformed" has two flavours because clients tend to break differently on each.
    malformed_body: Literal["invalid_json", "missing_code"] = "invalid_json"
    delay_ms: int = Field(0, ge=0)
    # Separate from delay_ms so a poll-timeout test does not also stall the submit.
    poll_delay_ms: int = Field(0, ge=0)
    result: dict[str, Any] | None = None
    status_word: str = "completed"
    processing_word: str = "processing"
    rate_limit: int | None = Field(None, ge=0)
    # Sync calls only: answer as a `text/event-stream` of `stream_chunks` data events, each after
    # `chunk_delay_ms` but the first, then (unless `stream_usage` is false) a usage event, then [DONE].
    stream: bool = False
    stream_chunks: int = Field(3, ge=0, le=10_000)
    chunk_delay_ms: int = Field(0, ge=0)
    stream_usage: bool = True

    def result_for(self, ident: str) -> dict[str, Any]:
        if self.result is not None:
            return self.result
        return {"url": f"https://example.invalid/out/{ident}.png"}

    def precharge_wire(self) -> dict[str, Any]:
        return (self.precharge_usage or self.usage).as_wire()


def resolve_scenario(default: Scenario | None, override: dict[str, Any] | None) -> Scenario:
    """Per-request fields win over the model default, field by field (shallow)."""
    base = default.model_dump(exclude_unset=True) if default is not None else {}
    return Scenario.model_validate({**base, **(override or {})})


@dataclass
class Task:
    task_id: str
    model: str
    scenario: Scenario
    created_at: float
    polls: int = 0

    def advance(self) -> dict[str, Any]:
        """Count one status query and answer as of that query."""
        self.polls += 1
        return self.item()

    def item(self) -> dict[str, Any]:
        sc = self.scenario
        if self.polls == 0:
            return {"task_id": self.task_id, "status": "submitted", "progress": "0%"}
        if not self.finished():
            # Rising but never 100%: a client must not treat progress as completion.
            if sc.done_after_ms is None:
                pct = min(99, self.polls * 100 // (sc.polls_before_done + 1))
            else:
                pct = min(99, int((time.time() - self.created_at) * 100_000 // max(sc.done_after_ms, 1)))
            return {"task_id": self.task_id, "status": sc.processing_word, "progress": f"{pct}%"}
        if sc.outcome == "fail":
            failed = {"task_id": self.task_id, "status": "failed", "progress": "100%", "error": sc.fail_error}
            if sc.usage.cost is not None:  # an upstream that bills failed work says so on the failure
                failed["usage"] = sc.usage.as_wire()
            return failed
        return {"task_id": self.task_id, "status": sc.status_word, "progress": "100%",
                "result": sc.result_for(self.task_id), "usage": sc.usage.as_wire()}

    def finished(self) -> bool:
        sc = self.scenario
        if sc.outcome == "never":
            return False
        if sc.done_after_ms is None:
            return self.polls > sc.polls_before_done
        return time.time() >= self.done_at()

    def done_at(self) -> float | None:
        """Wall-clock time of completion, for scenarios with `done_after_ms`."""
        done_after_ms = self.scenario.done_after_ms
        return None if done_after_ms is None else self.created_at + done_after_ms / 1000

    def describe(self) -> dict[str, Any]:
        item = self.item()
        return {"task_id": self.task_id, "model": self.model, "status": item["status"],
                "progress": item["progress"], "polls": self.polls,
                "outcome": self.scenario.outcome, "created_at": self.created_at, "done_at": self.done_at(),
                "scenario": self.scenario.model_dump(exclude_none=True)}


class MockState:
    """Everything one app instance remembers.

    No lock: every mutation below is synchronous, and the app only awaits between
    calls, so the single event loop already serialises them.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.requests: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED_REQUESTS)
        self.tasks: dict[str, Task] = {}
        self.defaults: dict[str, Scenario] = {}
        # An outage for every model at once, winning over request scenarios (the chaos run's
        # error, timeout and 429 windows). Status fields never stick to the tasks created meanwhile.
        self.faults: dict[str, Any] = {}
        self.stats: dict[str, int] = {}
        self._query_times: dict[str, deque[float]] = {}
        self.reset()

    def reset(self) -> None:
        self.requests.clear()
        self.tasks.clear()
        self.defaults.clear()
        self.faults.clear()
        self._query_times.clear()
        self.stats = {"accepted_tasks": 0, "sync_calls": 0, "status_queries": 0,
                      "precharge_calls": 0, "rate_limited": 0}

    def record(self, entry: dict[str, Any]) -> None:
        self.requests.append(entry)

    def find_requests(self, path_contains: str | None = None,
                      method: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests
                if (not path_contains or path_contains in r["path"])
                and (not method or r["method"] == method.upper())]

    def scenario_for(self, model: str, override: dict[str, Any] | None) -> Scenario:
        submit_faults = {k: v for k, v in self.faults.items() if k not in STATUS_FAULT_FIELDS}
        return resolve_scenario(self.defaults.get(model), {**(override or {}), **submit_faults})

    def create_task(self, model: str, scenario: Scenario) -> Task:
        task = Task(task_id=f"up_{secrets.token_hex(8)}", model=model,
                    scenario=scenario, created_at=time.time())
        self.tasks[task.task_id] = task
        self.stats["accepted_tasks"] += 1
        return task

    def rate_limit_for(self, model: str, tasks: list[Task]) -> int | None:
        """The strictest limit among the model default and the queried tasks."""
        scenarios = [t.scenario for t in tasks]
        if model in self.defaults:
            scenarios.append(self.defaults[model])
        limits = [s.rate_limit for s in scenarios if s.rate_limit is not None]
        if self.faults.get("rate_limit") is not None:
            limits.append(self.faults["rate_limit"])
        return min(limits) if limits else None

    def admit_status_query(self, model: str, limit: int | None) -> bool:
        """Sliding one-second window per model; a rejected query does not count.

        Sliding rather than fixed windows so that N+1 quick queries are refused
        deterministically, whatever the wall-clock second boundary.
        """
        if limit is None:
            return True
        now = self._clock()
        times = self._query_times.setdefault(model, deque())
        while times and now - times[0] >= RATE_WINDOW_SECONDS:
            times.popleft()
        if len(times) >= limit:
            self.stats["rate_limited"] += 1
            return False
        times.append(now)
        return True
