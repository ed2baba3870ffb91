"""`make chaos` (python -m tools.chaos --seed N --duration S): the whole system under load and
faults; prints the report and exits 1 when any invariant is violated.

Kafka and MongoDB are fresh local stand-ins (tools/devinfra.py) unless KAFKA_BOOTSTRAP_SERVERS
and MONGODB_URL name others; service logs land in test-artifacts/chaos-<seed>/. The run ends with
a stop and restart of the broker when it is the local stand-in (`--no-broker-restart` skips it).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.harness.infra import provide_infra
from tools.chaos.runner import run

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.chaos")
    parser.add_argument("--seed", type=int, default=1, help="names the run: the same seed, the same faults and load")
    parser.add_argument("--duration", type=float, default=240.0, help="seconds of load (the faults may run longer)")
    parser.add_argument("--no-broker-restart", action="store_true", help="leave the broker alone")
    args = parser.parse_args()
    log_dir = ROOT / "test-artifacts" / f"chaos-{args.seed}"
    with provide_infra(log_dir / "infra") as (infra, source):
        print(f"chaos: seed {args.seed}, {args.duration:.0f}s of load, infrastructure: {source}; logs in {log_dir}",
              flush=True)
        local_broker = source.startswith("local") and not args.no_broker_restart
        report = run(infra, args.seed, args.duration, log_dir, log_dir / "infra" if local_broker else None)
    print(report.render(), flush=True)
    sys.exit(0 if report.passed else 1)


if __name__ == "__main__":
    main()
