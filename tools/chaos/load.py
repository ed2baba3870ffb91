"""Mixed load across many users with small wallets: async tasks (succeed, fail, never finish,
usage above and below the hold), sync calls, worker tasks, top-ups (some repeated). Each actor
draws its choices from its own seeded generator."""
from __future__ import annotations

import asyncio
import random

import httpx

from tools.chaos.system import ASYNC_MODEL, SYNC_MODEL, USAGE_HOLD, USAGE_MODEL, WORKER_GROUP, ChaosSystem, User
from tools.chaos.tally import Tally

ACTORS = 6
THINK_S = (0.02, 0.15)
ASYNC_SCENARIOS = [({"outcome": "success", "polls_before_done": 1}, 4), ({"outcome": "fail"}, 2),
                   ({"outcome": "success", "polls_before_done": 3}, 2), ({"outcome": "never"}, 1)]
SYNC_SCENARIOS = [({"outcome": "success"}, 6), ({"outcome": "fail"}, 1), ({"outcome": "http_error"}, 1)]
ACTIONS = [("async", 5), ("usage", 2), ("sync", 3), ("worker", 3), ("topup", 1)]


def _pick(rng: random.Random, weighted: list) -> object:
    return rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]


async def run_load(system: ChaosSystem, seed: int, stop: asyncio.Event, tally: Tally) -> None:
    admin = httpx.AsyncClient(base_url=system.gateways[0], timeout=15,
                              headers={"Authorization": f"Bearer {system.stack.admin_token}"})
    try:
        await asyncio.gather(*(_actor(system, random.Random(seed * 1000 + i), stop, tally, admin)
                               for i in range(ACTORS)))
    finally:
        await admin.aclose()


async def _actor(system: ChaosSystem, rng: random.Random, stop: asyncio.Event, tally: Tally,
                 admin: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(timeout=15) as http:
        while not stop.is_set():
            user = rng.choice(system.users)
            action = _pick(rng, ACTIONS)
            gateway = rng.choice(system.gateways)
            try:
                if action == "topup":
                    await _topup(admin, user, rng, tally)
                else:
                    await _request(http, gateway, user, action, rng, tally)
            except httpx.TransportError:
                tally.answer(str(action), "unreachable")  # a gateway being killed or restarted
            await asyncio.sleep(rng.uniform(*THINK_S))


async def _request(http: httpx.AsyncClient, gateway: str, user: User, action: str, rng: random.Random,
                   tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {user.key}"}
    if action == "async":
        url, body = f"{gateway}/pass/{ASYNC_MODEL}/submit", {"mock": _pick(rng, ASYNC_SCENARIOS)}
    elif action == "usage":
        tokens = rng.choice([USAGE_HOLD // 3, USAGE_HOLD * 2])  # below or above what the task holds
        url, body = f"{gateway}/pass/{USAGE_MODEL}/submit", {
            "mock": {"usage": {"prompt_tokens": tokens // 2, "completion_tokens": tokens - tokens // 2}}}
    elif action == "sync":
        url, body = f"{gateway}/pass/{SYNC_MODEL}", {"mock": _pick(rng, SYNC_SCENARIOS)}
    else:
        url = f"{gateway}/api/openai"
        body = {"group": WORKER_GROUP, "async": rng.random() < 0.6, "timeout": 4000,
                "data": {"fail": rng.random() < 0.2, "work_ms": rng.randint(20, 400)}}
    response = await http.post(url, json=body, headers=headers)
    tally.answer(action, response.status_code, response.text)
    task_id = response.headers.get("x-custompass-task-id") or _task_id(response)
    if task_id and response.status_code < 500:
        tally.acknowledged.add(task_id)


def _task_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return (body.get("task_id") or body.get("taskId")) if isinstance(body, dict) else None


async def _topup(admin: httpx.AsyncClient, user: User, rng: random.Random, tally: Tally) -> None:
    """A new top-up, or (one in four) a repeat of one already acknowledged: it must credit once."""
    repeat = user.topups and rng.random() < 0.25
    request_id = rng.choice(user.topups) if repeat else f"chaos-{rng.getrandbits(48):x}"
    response = await admin.post(f"/admin/users/{user.id}/topup", json={"amount": 40, "request_id": request_id})
    tally.answer("topup", response.status_code, response.text)
    if response.status_code == 200 and request_id not in user.topups:
        user.topups.append(request_id)
