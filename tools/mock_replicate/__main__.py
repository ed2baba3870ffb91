"""Run the mock Replicate: `python -m tools.mock_replicate` (MOCK_REPLICATE_PORT, MOCK_REPLICATE_KEY)."""
from __future__ import annotations

import os

import uvicorn

from tools.mock_replicate.app import create_app


def main() -> None:
    app = create_app(required_key=os.environ.get("MOCK_REPLICATE_KEY") or None)
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("MOCK_REPLICATE_PORT", "9200")),
                log_level=os.environ.get("MOCK_REPLICATE_LOG_LEVEL", "warning"), timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
