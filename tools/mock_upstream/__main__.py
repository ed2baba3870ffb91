"""Run the mock upstream: `python -m tools.mock_upstream --host 127.0.0.1 --port 9100`."""
from __future__ import annotations

import argparse
import os

import uvicorn

from tools.mock_upstream.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.mock_upstream", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("MOCK_UPSTREAM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MOCK_UPSTREAM_PORT", "9100")))
    parser.add_argument("--key", default=os.environ.get("MOCK_UPSTREAM_KEY") or None,
                        help="require `Authorization: Bearer KEY` (env MOCK_UPSTREAM_KEY)")
    parser.add_argument("--log-level", default=os.environ.get("MOCK_UPSTREAM_LOG_LEVEL", "info"))
    args = parser.parse_args(argv)
    # A bounded graceful shutdown: an `outcome: never` sync call would otherwise hold
    # the process open for as long as its client keeps the connection.
    uvicorn.run(create_app(required_key=args.key), host=args.host, port=args.port,
                log_level=args.log_level, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
