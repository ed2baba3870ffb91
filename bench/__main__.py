"""`python -m bench [holds|async|sweep|sync|limits|workers|cost|scale ...] [options]`: see bench/__init__.py."""
from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import sys
import time
import traceback

from bench import (async_flow, cost, cost_timings, holds, kafka_floor, key_limits, relays, report, scale, sweep,
                   scale_paths, sync_overhead, workers)
from bench.common import Results, load_average
from bench.env import bench_env

SCENARIOS = ("holds", "async", "sweep", "sync", "limits", "workers", "cost", "scale")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", metavar="scenario",
                        help=f"any of {', '.join(SCENARIOS)} (default: all); holds includes the Kafka "
                             "round-trip floor")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the Kafka floor runs (median)")
    parser.add_argument("--holds", type=int, default=3000, help="holds per repeat at --hold-concurrency")
    parser.add_argument("--hold-repeats", type=int, default=1, help="repeats of the holds runs (median)")
    parser.add_argument("--ledger-holds", type=int, default=1000,
                        help="holds placed in the gateway's way, in this process (0: skip them)")
    parser.add_argument("--hold-concurrency", type=int, default=50)
    parser.add_argument("--sequential", type=int, default=200, help="round trips / holds per repeat at c=1")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of async submissions")
    parser.add_argument("--async-concurrency", type=int, default=32)
    parser.add_argument("--poll-interval", type=float, default=0.5, help="the async channel's poll_interval_s")
    parser.add_argument("--done-after", type=float, default=1.0,
                        help="seconds after its submit at which the mock upstream finishes each async task")
    parser.add_argument("--settle-timeout", type=float, default=90.0,
                        help="most seconds to wait for submitted tasks to settle")
    parser.add_argument("--sweep-sizes", default="1000,10000", help="in-flight task counts, comma-separated")
    parser.add_argument("--sweep-repeats", type=int, default=3,
                        help="most repeats per size (fewer once a size has used --sweep-budget)")
    parser.add_argument("--sweep-budget", type=float, default=45.0,
                        help="seconds per size: a sweep still running then is stopped and its progress reported")
    parser.add_argument("--sync-calls", type=int, default=1000, help="sync calls per repeat and route at "
                        "--sync-concurrency (a fifth of it sequentially)")
    parser.add_argument("--sync-concurrency", type=int, default=32)
    parser.add_argument("--sync-repeats", type=int, default=3)
    parser.add_argument("--limit-calls", type=int, default=200, help="sync calls per key per repeat (limits)")
    parser.add_argument("--limit-repeats", type=int, default=3, help="repeats of the limits runs (median)")
    parser.add_argument("--workers", type=int, default=8, help="echo workers of the workers scenario")
    parser.add_argument("--worker-concurrency", type=int, default=8, help="concurrent sync callers (workers scenario)")
    parser.add_argument("--worker-tasks", type=int, default=2000, help="sync tasks of the workers scenario")
    parser.add_argument("--cost-tasks", type=int, default=200, help="tasks per path of the cost scenario")
    parser.add_argument("--cost-concurrency", type=int, default=8, help="concurrent callers (cost scenario)")
    parser.add_argument("--cost-idle", type=float, default=15.0,
                        help="seconds of each idle measurement of the cost scenario (the baseline subtracted)")
    parser.add_argument("--cost-test-timings", action="store_true",
                        help="cost scenario: keep the test harness's short background timers instead of the "
                             "services' defaults")
    parser.add_argument("--no-write", action="store_true", help="print only; no bench/results file")
    parser.add_argument("--scale-sizes", default="1000,10000,100000",
                        help="stored (ended) task counts for the scale scenario, comma-separated")
    parser.add_argument("--scale-repeats", type=int, default=scale.REPEATS, help="timings per query and size")
    parser.add_argument("--scale-tasks", type=int, default=scale_paths.TASKS,
                        help="tasks per path and size in the scale scenario's end-to-end rounds")
    parser.add_argument("--hold-placement", choices=("gateway", "billing"), default="gateway",
                        help="who places the stacks' holds (HOLD_PLACEMENT), to compare the two in one run")
    parser.add_argument("--keep-logs", action="store_true", help="keep service logs (always kept on failure)")
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.scenarios = list(dict.fromkeys(args.scenarios or SCENARIOS))
    return args


async def run_scenario(name: str, args: argparse.Namespace, env, results: Results) -> None:
    if name == "holds":
        floor = None
        try:
            floor = await kafka_floor.run(env.infra.kafka_bootstrap_servers, results, env.infra_pids(),
                                          concurrency=args.hold_concurrency, count=args.holds,
                                          sequential=args.sequential, repeats=args.repeats)
        except Exception as exc:
            _failed("kafka floor", exc, results, env)
        if args.ledger_holds:
            try:
                await holds.in_gateway(env, results, concurrency=args.hold_concurrency, count=args.ledger_holds,
                                       sequential=args.sequential // 2)
            except Exception as exc:
                _failed("holds in the gateway", exc, results, env)
        await holds.run(env, results, floor, concurrency=args.hold_concurrency, count=args.holds,
                        sequential=args.sequential, repeats=args.hold_repeats)
    elif name == "async":
        await async_flow.run(env, results, concurrency=args.async_concurrency, duration=args.duration,
                             poll_interval=args.poll_interval, done_after=args.done_after,
                             settle_timeout=args.settle_timeout)
    elif name == "sweep":
        sizes = [int(s) for s in args.sweep_sizes.split(",") if s.strip()]
        await sweep.run(env, results, sizes=sizes, repeats=args.sweep_repeats, budget=args.sweep_budget)
    elif name == "sync":
        await sync_overhead.run(env, results, concurrency=args.sync_concurrency, count=args.sync_calls,
                                repeats=args.sync_repeats)
    elif name == "limits":
        await key_limits.run(env, results, calls=args.limit_calls, repeats=args.limit_repeats)
    elif name == "workers":
        await workers.run(env, results, workers=args.workers, concurrency=args.worker_concurrency,
                          count=args.worker_tasks)
    elif name == "scale":
        sizes = [int(s) for s in args.scale_sizes.split(",") if s.strip()]
        # The paths first: the nx-27017 stand-in itself slows after holding the queries' scratch
        # database (dropped or not), which would be charged to the paths' largest round.
        await scale_paths.run(env, results, [min(sizes), max(sizes)], tasks=args.scale_tasks)
        await scale.run(env, results, sizes=sizes, repeats=args.scale_repeats)
    elif name == "cost":
        await cost.run(env, results, tasks=args.cost_tasks, concurrency=args.cost_concurrency, workers=args.workers,
                       idle_s=args.cost_idle, poll_interval=args.poll_interval, done_after=args.done_after,
                       settle_timeout=args.settle_timeout, test_timings=args.cost_test_timings)


def _failed(name: str, exc: BaseException, results: Results, env) -> None:
    results.add(name, "ERROR", type(exc).__name__, str(exc)[:200])
    results.detail(f"{name} failed:\n" + "".join(traceback.format_exception(exc)))
    env.keep_logs = True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = datetime.datetime.now(datetime.UTC)
    load_start = load_average()
    code = report.code_revision()  # at the start: others may commit or edit while this runs
    t0 = time.monotonic()
    results = Results()
    print(f"bench: {', '.join(args.scenarios)} (load average {load_start})", flush=True)
    with bench_env(args.keep_logs, {"HOLD_PLACEMENT": args.hold_placement}) as env:
        print(f"infrastructure: kafka={env.infra.kafka_bootstrap_servers} mongo={env.infra.mongodb_url}", flush=True)
        for name in args.scenarios:
            print(f"\n== {name}", flush=True)
            t_scenario = time.monotonic()
            try:
                asyncio.run(run_scenario(name, args, env, results))
            except Exception as exc:  # one scenario's failure must not hide the others' figures
                _failed(name, exc, results, env)
            print(f"   ({name}: {time.monotonic() - t_scenario:.0f} s)", flush=True)
    elapsed = time.monotonic() - t0
    print("\n" + report.table(results))
    for title, markdown in results.sections:
        print(f"\n### {title}\n\n{markdown}")
    print("\n" + "\n".join(f"{k}: {v}" for k, v in report.machine(code).items()))
    if not args.no_write:
        command = "python -m bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
        settings = {
            "holds": f"Kafka floor {args.holds} round trips x {args.repeats} repeats at c={args.hold_concurrency}, "
                     f"{args.sequential} x {args.repeats} at c=1; holds {args.holds} x {args.hold_repeats} at "
                     f"c={args.hold_concurrency}, {args.sequential} x {args.hold_repeats} at c=1, amount 1 each; "
                     f"in the gateway's process (HOLD_PLACEMENT=gateway) {args.ledger_holds} at c={args.hold_concurrency}",
            "async": f"{args.duration:.0f} s at c={args.async_concurrency}; poll_interval_s {args.poll_interval}; "
                     f"mock done_after {args.done_after:g} s; per_call price 1",
            "sweep": f"sizes {args.sweep_sizes}; up to {args.sweep_repeats} repeats within {args.sweep_budget:.0f} s "
                     f"per size; batch_size {sweep.BATCH_SIZE}; mock scenario never; in-process Sweeper with "
                     f"PollerSettings defaults",
            "sync": f"{args.sync_calls} calls per repeat and route at c={args.sync_concurrency}, a fifth of them at "
                    f"c=1, {args.sync_repeats} repeats; routes direct, nginx, litellm, custompass alternate; "
                    f"nginx {relays.nginx_version()} and LiteLLM {relays.litellm_version()} with one worker "
                    "process each; CustomPass per_call price 1",
            "limits": f"{args.limit_calls} sync calls per key x {args.limit_repeats} repeats at c=1, alternating a key "
                      f"without limits and a key (and user) with every limit; per_call price 1",
            "workers": f"{args.worker_tasks} sync POST /api/openai at c={args.worker_concurrency} to {args.workers} "
                       f"echo WebSocket workers (in the bench process); per_call price 1",
            "cost": f"{args.cost_tasks} tasks per path (async, sync, worker) at c={args.cost_concurrency} after "
                    f"{cost.WARM_UP_TASKS} warm-up tasks each; idle baseline {args.cost_idle:g} s subtracted at its "
                    f"rate; async poll_interval_s {args.poll_interval}, mock done_after {args.done_after:g} s; "
                    f"{args.workers} echo workers; per_call price 1; counts from each service's /metrics; "
                    + ("the harness's TEST_ENV timers" if args.cost_test_timings else
                       "background timers at the services' defaults (" + ", ".join(
                           f"{k} {v}" for k, v in cost_timings.shipped_timers().items()) + ")"),
            "scale": f"stored sizes {args.scale_sizes}, each ended and settled with a delivered webhook; live set "
                     f"{scale.LIVE} of each kind at every size; median of {args.scale_repeats} per query and size, "
                     "after a find_one by _id each time (the floor); then on one stack, with the smallest and the "
                     f"largest size stored (tasks, webhooks, consumption logs), {args.scale_tasks} tasks per path at "
                     f"c={scale_paths.CONCURRENCY} ({scale_paths.WORKERS} echo workers), TEST_ENV timers",
        }
        settings = {k: v for k, v in settings.items() if k in args.scenarios}
        settings["stacks"] = ("tests/harness/stack.py (every service its own process, TEST_ENV timings: "
                              "POLL_TICK_S 0.2, RECONCILE_INTERVAL_S 0.5, RECONCILE_AFTER_S 2); "
                              f"HOLD_PLACEMENT={args.hold_placement}")
        path = report.write(results, command=command, settings=settings, started=started, elapsed_s=elapsed,
                            load=(load_start, load_average()), code=code)
        print(f"\nwritten: {path}")
    print(f"total: {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
