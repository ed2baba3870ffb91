"""A burst of concurrent async submits against one wallet, on a fresh stack; prints the answers by status.

    .venv/bin/python -m tools.submit_burst [--requests 1500] [--concurrency 100] [--quota 1000]

Each submit is held 1 unit, so of N requests against a wallet of Q exactly min(N, Q) should be
accepted (200) and the rest refused for quota (402); a 503 means the gateway gave up waiting for
billing. Starts its own stand-ins and services (tests/harness), like a test run.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import secrets
import tempfile
import time
from pathlib import Path

import httpx

from tests.harness.api import AdminApi
from tests.harness.infra import provide_infra
from tests.harness.stack import SERVICES, Stack


# Idle pooled connections are dropped before the server's keep-alive (uvicorn: 5 s) closes them:
# otherwise a submit that waited for its turn can be sent on a connection the server is closing
# and fail with ReadError, which says nothing about the gateway.
CLIENT_KEEPALIVE_S = 2.0


async def burst(gateway: str, key: str, model: str, requests: int, concurrency: int) -> collections.Counter:
    statuses: collections.Counter = collections.Counter()
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=gateway, headers={"Authorization": f"Bearer {key}"}, timeout=120,
                                 limits=httpx.Limits(max_connections=concurrency,
                                                     keepalive_expiry=CLIENT_KEEPALIVE_S)) as http:
        async def one(index: int) -> None:
            async with gate:
                try:
                    answer = await http.post(f"/pass/{model}/submit", json={"prompt": f"burst {index}"})
                except httpx.TransportError as exc:  # the gateway dropped the connection
                    statuses[f"no answer: {type(exc).__name__}"] += 1
                    return
            label = str(answer.status_code)
            if answer.status_code >= 500:  # which failure, and whether it says when to retry
                label += f" {answer.json().get('code')}: {answer.json().get('message')}" + (
                    " +Retry-After" if "retry-after" in answer.headers else "")
            statuses[label] += 1

        await asyncio.gather(*(one(i) for i in range(requests)))
    return statuses


async def burst_target(admin: AdminApi, upstream_url: str, quota: int) -> tuple[str, str, str]:
    """A user with `quota` and a key, and an async model that holds 1 unit per submit."""
    model = f"burst-{secrets.token_hex(3)}"
    await admin.create_channel(name=model, kind="custompass_async", base_url=upstream_url,
                               api_key="upstream-secret", models=[f"{model}/submit"],
                               billing={"mode": "per_call", "price": 1}, poll_interval_s=5)
    user_id, key = await admin.user_with_key(quota=quota)
    return user_id, key, model


async def measure(stack: Stack, requests: int, concurrency: int, quota: int) -> dict:
    admin = AdminApi(stack.gateway_url, stack.admin_token)
    try:
        user_id, key, model = await burst_target(admin, stack.upstream_url, quota)
        started = time.monotonic()
        statuses = await burst(stack.gateway_url, key, model, requests, concurrency)
        return {"requests": requests, "concurrency": concurrency, "quota": quota,
                "seconds": round(time.monotonic() - started, 1), "statuses": dict(sorted(statuses.items())),
                "wallet": await admin.wallet(user_id), "mean_seconds": await _mean_latencies(stack)}
    finally:
        await admin.close()


# (service, histogram, label text its lines must contain): where a submit's time went.
MEASURED = (("gateway", "custompass_gateway_request_seconds", 'method="POST"'),
            ("gateway", "custompass_gateway_hold_reply_seconds", ""),
            ("billing", "custompass_billing_operation_seconds", 'operation="place_hold"'))


async def _mean_latencies(stack: Stack) -> dict[str, float]:
    means = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for service, histogram, labels in MEASURED:
            lines = [line for line in (await http.get(f"{stack[service].url}/metrics")).text.splitlines()
                     if labels in line]
            total = sum(float(line.split()[-1]) for line in lines if line.startswith(f"{histogram}_sum"))
            count = sum(float(line.split()[-1]) for line in lines if line.startswith(f"{histogram}_count"))
            if count:
                means[histogram] = round(total / count, 3)
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--quota", type=int, default=1000)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="submit-burst-"))
    with provide_infra(state / "infra") as (infra, _):
        stack = Stack(infra, state, services=SERVICES).start()
        try:
            print(json.dumps(asyncio.run(measure(stack, args.requests, args.concurrency, args.quota))))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
