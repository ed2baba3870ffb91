"""What API key policies add to a sync pass-through call (`POST /pass/{model}`), end to end over
HTTP: the same calls, one at a time, alternately from a key with no limits and from a key with
every limit set (requests per minute, tasks in flight, an allow-list, a quota limit) on itself
and on its user. The difference of the two p50s is the cost of the checks."""
from __future__ import annotations

import secrets
import time

import httpx

from bench.common import Results, load_client, median, ms, notes, percentile, spread
from bench.env import BenchEnv
from tests.harness.api import AdminApi
from tests.harness.stack import SERVICES

GENEROUS = {"requests_per_minute": 1_000_000, "max_in_flight": 100_000}


async def run(env: BenchEnv, results: Results, *, calls: int, repeats: int) -> None:
    with env.stack(SERVICES) as stack:
        admin = AdminApi(stack.gateway_url, stack.admin_token)
        try:
            model = f"bench-chat-{secrets.token_hex(3)}"
            await admin.create_channel(name=f"bench-{model}", kind="custompass_sync", base_url=stack.upstream_url,
                                       api_key="upstream-secret", models=[model],
                                       billing={"mode": "per_call", "price": 1})
            _, plain = await admin.user_with_key(quota=10**12)
            limited_user = await admin.create_user(quota=10**12, models=[model], **GENEROUS)
            response = await admin.http.post(f"/admin/users/{limited_user}/api-keys", json={
                "name": "limited", "models": [model], "quota_limit": 10**12, **GENEROUS})
            response.raise_for_status()
            limited = response.json()["key"]
            p50s: dict[str, list[float]] = {"plain": [], "limited": []}
            p99s: dict[str, list[float]] = {"plain": [], "limited": []}
            async with load_client(stack.gateway_url, 2, timeout=60) as http:
                for _ in range(20):  # warm-up of both paths, not counted
                    for key in (plain, limited):
                        await _call(http, model, key)
                for _ in range(repeats):
                    samples: dict[str, list[float]] = {"plain": [], "limited": []}
                    for _ in range(calls):  # alternating, so drift on a shared machine hits both alike
                        samples["plain"].append(await _call(http, model, plain))
                        samples["limited"].append(await _call(http, model, limited))
                    for name, values in samples.items():
                        p50s[name].append(percentile(values, 50))
                        p99s[name].append(percentile(values, 99))
        finally:
            await admin.close()
    added = [b - a for a, b in zip(p50s["plain"], p50s["limited"])]
    results.add("key limits", "sync call p50, key without limits", ms(median(p50s["plain"])),
                notes(f"{calls} calls per repeat at c=1", spread([v * 1000 for v in p50s["plain"]])))
    results.add("key limits", "sync call p50, key and user with every limit", ms(median(p50s["limited"])),
                spread([v * 1000 for v in p50s["limited"]]))
    results.add("key limits", "added p50 of the limit checks", ms(median(added)),
                notes("limited p50 - plain p50 of the same repeat", spread([v * 1000 for v in added], "{:.2f}")))
    results.add("key limits", "sync call p99, without / with limits",
                f"{ms(median(p99s['plain']))} / {ms(median(p99s['limited']))}")


async def _call(http: httpx.AsyncClient, model: str, key: str) -> float:
    t0 = time.perf_counter()
    response = await http.post(f"/pass/{model}", json={"prompt": "bench"}, headers={"Authorization": f"Bearer {key}"})
    elapsed = time.perf_counter() - t0
    if response.status_code != 200:
        raise RuntimeError(f"sync call answered {response.status_code}: {response.text[:200]}")
    return elapsed
