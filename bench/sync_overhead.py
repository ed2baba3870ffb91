"""The sync pass-through's own cost: the same call to the mock upstream made directly and through
`POST /pass/{model}` (key check, channel choice, hold over Kafka, task document, settlement event),
at one fixed concurrency and sequentially. Direct and gateway runs alternate, so drift on the
machine affects both alike."""
from __future__ import annotations

import os
import secrets

import httpx

from bench.common import CpuMeter, Results, closed_loop, median, ms, percentile
from bench.env import BenchEnv
from tests.harness.api import AdminApi

BODY = {"prompt": "bench", "mock": {"usage": {"prompt_tokens": 10, "completion_tokens": 10}}}


async def run(env: BenchEnv, results: Results, *, concurrency: int, count: int, repeats: int) -> None:
    with env.stack(["billing", "gateway", "settlement", "mock_upstream"]) as stack:
        admin = AdminApi(stack.gateway_url, stack.admin_token)
        model = f"bench-sync-{secrets.token_hex(3)}"
        await admin.create_channel(name=model, kind="custompass_sync", base_url=stack.upstream_url,
                                   api_key="upstream-secret", models=[model], billing={"mode": "per_call", "price": 1})
        _, key = await admin.user_with_key(quota=10**9)
        limits = httpx.Limits(max_connections=concurrency * 2)
        direct = httpx.AsyncClient(base_url=stack.upstream_url, timeout=30, limits=limits,
                                   headers={"Authorization": "Bearer upstream-secret", "X-Custom-Token": key})
        gateway = httpx.AsyncClient(base_url=stack.gateway_url, timeout=30, limits=limits,
                                    headers={"Authorization": f"Bearer {key}"})
        paths = {"direct": (direct, f"/{model}"), "gateway": (gateway, f"/pass/{model}")}

        def caller(route: str):
            client, path = paths[route]

            async def call(_: int) -> None:
                (await client.post(path, json=BODY)).raise_for_status()
            return call

        figures: dict[tuple[str, int], list[list[float]]] = {}
        failures: list[BaseException] = []
        meter = CpuMeter(env.pids(stack))
        try:
            for route in paths:  # warm connections, caches and the consumers
                await closed_loop(4, 50, caller(route))
            meter.start()
            for _ in range(repeats):
                for c, n in ((1, max(count // 5, 50)), (concurrency, count)):
                    for route in paths:
                        lat, _, errors = await closed_loop(c, n, caller(route))
                        figures.setdefault((route, c), []).append(lat)
                        failures.extend(errors)
            meter.stop()
        finally:
            await direct.aclose()
            await gateway.aclose()
            await admin.close()
    for c in (1, concurrency):
        for pct in (50, 99):
            d = median([percentile(lat, pct) for lat in figures[("direct", c)]])
            g = median([percentile(lat, pct) for lat in figures[("gateway", c)]])
            results.add("sync overhead", f"p{pct} direct / through the gateway, c={c}", f"{ms(d)} / {ms(g)}",
                        f"{g / d:.1f}x; the gateway adds {ms(g - d)}; median of {repeats} repeats")
    if failures:
        results.add("sync overhead", "failed calls", str(len(failures)), repr(failures[0])[:200])
    results.detail(f"sync overhead, pid {os.getpid()}: " + meter.summary())
    results.contention("sync overhead", "", meter)
