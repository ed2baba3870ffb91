from __future__ import annotations

from pydantic import Field

from shared.result_storage.settings import ResultStorageSettings
from shared.settings import CommonSettings, CustomPassSettings


class PollerSettings(CommonSettings, CustomPassSettings, ResultStorageSettings):
    poller_port: int = 8082
    poll_tick_s: float = Field(1.0, gt=0, description="The closest two sweeps for due tasks follow each other.")
    poll_idle_s: float = Field(5.0, gt=0, description=(
        "The longest the poller waits between sweeps while no live task is due sooner. An async "
        "submit wakes it (task.submitted); a sync or worker task's deadline, which its gateway "
        "enforces first, may be reached this much late."))
    poll_claim_limit: int = Field(5000, ge=1, description="Most tasks leased by one sweep.")
    poll_lease_s: float = Field(60.0, gt=0, description="How long a sweep owns the tasks it leased.")
    task_start_timeout_s: float = Field(600.0, gt=0, description=(
        "Task API: a typed task not started (pending) this long after creation fails and is refunded."))
    late_watch_s: float = Field(1800.0, ge=0, le=30 * 86400, description=(
        "After failing a task on timeout, keep asking its upstream about it this long (a channel's "
        "late_watch_s overrides it; 0: not at all), so a late result is recorded (never charged)."))
    late_watch_tick_s: float = Field(10.0, gt=0, description=(
        "How often the poller looks for late watches due (a watch asks every window/10 at the "
        "earliest, so a tick of seconds delays a late result by no more; each look is a MongoDB "
        "query even when idle)."))
