"""Run the mock RunningHub: `python -m tools.mock_runninghub` (MOCK_RUNNINGHUB_PORT, MOCK_RUNNINGHUB_KEY)."""
from __future__ import annotations

import os

import uvicorn

from tools.mock_runninghub.app import create_app


def main() -> None:
    app = create_app(api_key=os.environ.get("MOCK_RUNNINGHUB_KEY") or None)
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("MOCK_RUNNINGHUB_PORT", "9300")),
                log_level=os.environ.get("MOCK_RUNNINGHUB_LOG_LEVEL", "warning"), timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
