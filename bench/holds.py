"""Holds both ways a gateway places them (`HOLD_PLACEMENT`): through Kafka request/reply, the
gateway's own BillingClient (in this process) asking the billing service (its own process), and
in the gateway's own process (`in_gateway`), as POST /pass/.../submit does for every task."""
from __future__ import annotations

import os
import secrets

from pymongo import AsyncMongoClient

from bench.common import CpuMeter, Results, closed_loop, median, ms, notes, percentile, spread
from bench.env import BenchEnv
from services.gateway.in_process_holds import InProcessHolds
from services.gateway.settings import GatewaySettings
from shared.ledger import Ledger
from tests.harness.api import AdminApi, billing_client


async def in_gateway(env: BenchEnv, results: Results, *, concurrency: int, count: int, sequential: int) -> None:
    """Holds as a gateway with `HOLD_PLACEMENT=gateway` places them: `InProcessHolds` over the
    ledger billing runs, in this process straight against the MongoDB stand-in (no Kafka, no
    billing process); holds arriving during a write go together in the next."""
    mongo = AsyncMongoClient(env.infra.mongodb_url, tz_aware=True)
    try:
        db = mongo[f"bench_ledger_{secrets.token_hex(3)}"]
        ledger = Ledger(db, lease_s=10)
        await ledger.ensure_indexes()
        placer = InProcessHolds(ledger, max_batch=GatewaySettings.model_fields["hold_batch_max"].default,
                                timeout_s=60)
        await db.users.insert_one({"_id": "user_bench", "name": "bench", "status": "active"})
        await ledger.open_wallet("user_bench")
        await ledger.topup("topup:user_bench:initial", "user_bench", 10**9)
        rejected = 0

        async def hold(i: int, tag: str) -> None:
            nonlocal rejected
            task_id = f"task_{tag}_{i}"
            decision = await placer.hold(f"hold_{task_id}", "user_bench", 1, task_id)
            rejected += not decision.placed

        await closed_loop(1, 20, lambda i: hold(i, "warm"))
        seq, _, seq_errors = await closed_loop(1, sequential, lambda i: hold(i, "seq"))
        meter = CpuMeter({**env.infra_pids(), "bench (this process)": os.getpid()}).start()
        lat, wall, errors = await closed_loop(concurrency, count, lambda i: hold(i, "conc"))
        meter.stop()
    finally:
        await mongo.close()
    note = "InProcessHolds (HOLD_PLACEMENT=gateway) in this process on the MongoDB stand-in, no Kafka"
    results.add("holds in the gateway", f"holds/s, c={concurrency}", f"{len(lat) / wall:,.0f}/s", f"{count} holds; {note}")
    results.add("holds in the gateway", f"hold latency p50, c={concurrency}", ms(percentile(lat, 50)))
    results.add("holds in the gateway", "hold latency p50, c=1", ms(percentile(seq, 50)), f"{sequential} sequential")
    if errors or seq_errors or rejected:
        failures = errors + seq_errors
        results.add("holds in the gateway", "failed / rejected holds", f"{len(failures)} / {rejected}",
                    repr(failures[0])[:200] if failures else "")
    results.detail(f"holds in the gateway, c={concurrency}: " + meter.summary())


async def run(env: BenchEnv, results: Results, floor: dict[str, float] | None, *, concurrency: int,
              count: int, sequential: int, repeats: int) -> None:
    with env.stack(["billing", "gateway"]) as stack:
        admin = AdminApi(stack.gateway_url, stack.admin_token)
        try:
            total = 50 + sequential * repeats + count * repeats
            user_id = await admin.create_user(quota=total * 10)
            run_id = secrets.token_hex(3)
            placed = rejected = 0

            async with billing_client(stack.env, timeout=30) as (client, _):
                async def hold(i: int, tag: str) -> None:
                    nonlocal placed, rejected
                    task_id = f"task_bench_{run_id}_{tag}_{i}"
                    decision = await client.hold(f"hold_{task_id}", user_id, 1, task_id)
                    if decision.placed:
                        placed += 1
                    else:
                        rejected += 1

                await closed_loop(1, 20, lambda i: hold(i, "warm"))
                seq_p50, seq_p99, failures = [], [], []
                for r in range(repeats):
                    lat, _, errors = await closed_loop(1, sequential, lambda i, r=r: hold(i, f"seq{r}"))
                    failures += errors
                    seq_p50.append(percentile(lat, 50))
                    seq_p99.append(percentile(lat, 99))
                conc_p50, conc_p99, rates = [], [], []
                meter = CpuMeter(env.pids(stack)).start()
                for r in range(repeats):
                    lat, wall, errors = await closed_loop(concurrency, count, lambda i, r=r: hold(i, f"c{r}"))
                    failures += errors
                    conc_p50.append(percentile(lat, 50))
                    conc_p99.append(percentile(lat, 99))
                    rates.append(len(lat) / wall)
                meter.stop()
            wallet = await admin.wallet(user_id)
        finally:
            await admin.close()

    def ratio(value: float, key: str) -> str:
        return f"{value / floor[key]:.1f}x the Kafka floor" if floor and floor.get(key) else ""

    results.add("holds via billing", f"holds/s, c={concurrency}", f"{median(rates):,.0f}/s",
                notes(f"{count} holds per repeat", spread(rates, "{:,.0f}")))
    results.add("holds via billing", f"hold latency p50, c={concurrency}", ms(median(conc_p50)),
                notes(ratio(median(conc_p50), "p50_conc"), spread([v * 1000 for v in conc_p50])))
    results.add("holds via billing", f"hold latency p99, c={concurrency}", ms(median(conc_p99)),
                notes(ratio(median(conc_p99), "p99_conc"), spread([v * 1000 for v in conc_p99])))
    results.add("holds via billing", "hold latency p50, c=1", ms(median(seq_p50)),
                notes(f"{sequential} sequential", ratio(median(seq_p50), "p50_c1")))
    results.add("holds via billing", "hold latency p99, c=1", ms(median(seq_p99)), ratio(median(seq_p99), "p99_c1"))
    if failures or rejected:
        results.add("holds via billing", "failed / rejected holds", f"{len(failures)} / {rejected}",
                    repr(failures[0])[:200] if failures else "")
    results.detail(f"holds via billing, c={concurrency}: " + meter.summary())
    results.contention("holds via billing", "", meter)
    results.detail(f"holds: {placed} placed, {rejected} rejected; wallet afterwards {wallet} "
                   f"(held should equal placed: {'yes' if wallet.get('held') == placed else 'NO'})")
