"""Input bounds (services/gateway/body_limits.py): oversized bodies answer 413, JSON nested too
deeply 400, on every API family in its own envelope, and nothing that cannot be stored is stored."""
from __future__ import annotations

import json
import time

import pytest

from services.gateway.body_limits import json_depth
from tests.async_flow.conftest import async_channel, make_client  # noqa: F401 (shared fixtures)

MiB = 1 << 20


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(("text", "depth"), [
    ("1", 0), ('"[[[["', 0), ("[]", 1), ('{"a": [1, {"b": "]]]"}]}', 3),
    (r'{"quote \" [": [[]]}', 3), (r'["\\", [["x"]]]', 3),
])
def test_json_depth_counts_brackets_outside_strings(text: str, depth: int) -> None:
    assert json_depth(text.encode()) == depth


@pytest.mark.parametrize(("body", "depth"), [
    (nested(100_000), 100_000), (b"[" + b"[]," * (8 * MiB // 3) + b"[]]", 2), (b"[" + b"1," * (4 * MiB) + b"1]", 1),
    (b"[" + b'"a\\"b",' * MiB + b"1]", 1), (nested(64) * (8 * MiB // 128), 64),
], ids=["deep", "many-arrays", "many-numbers", "many-strings", "many-64-deep"])
def test_json_depth_of_the_largest_bodies_costs_under_a_second_or_so(body: bytes, depth: int) -> None:
    started = time.process_time()  # CPU time: the machine's load does not count
    assert json_depth(body) == depth
    assert time.process_time() - started < 2.0


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_deeply_nested_json_answers_400_on_pass_routes(async_channel, make_client, depth: int) -> None:
    model, _ = await async_channel()
    client = await make_client(quota=100)
    body = b'{"prompt": ' + nested(depth) + b"}"
    for path in (f"/pass/{model}/submit", f"/pass/{model}"):
        answer = await client.http.post(path, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["code"] == "json_too_deep" and answer.json()["message"]


async def test_json_within_the_depth_limit_is_accepted(async_channel, make_client) -> None:
    model, _ = await async_channel()
    client = await make_client(quota=100)
    answer = await client.submit(model, {"prompt": json.loads(nested(60))})
    assert answer.status_code == 200, answer.text


async def test_deeply_nested_json_answers_400_in_the_task_api_envelope(make_client) -> None:
    client = await make_client(quota=100)
    body = b'{"type": "basic_clean", "inputImageUrl": "https://example.com/a.png", "params": ' + nested(1000) + b"}"
    answer = await client.http.post("/api/task/create", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["success"] is False and answer.json()["code"] == 4001


async def test_a_20_mb_body_answers_413_without_a_task(async_channel, make_client, admin, mongo_db) -> None:
    model, _ = await async_channel()
    client = await make_client(quota=100)
    body = b'{"prompt": "' + b"x" * (20 * MiB) + b'"}'
    answer = await client.http.post(f"/pass/{model}/submit", content=body)
    assert answer.status_code == 413, answer.text[:300]
    assert answer.json()["code"] == "body_too_large"
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0
    assert (await admin.wallet(client.user_id))["available"] == 100


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(async_channel, make_client) -> None:
    model, _ = await async_channel()
    client = await make_client(quota=100)
    sent = 0

    async def chunks():  # no Content-Length: sent chunked, counted as it arrives
        nonlocal sent
        yield b'{"prompt": "'
        for _ in range(20):
            sent += MiB
            yield b"x" * MiB
        yield b'"}'

    answer = await client.http.post(f"/pass/{model}", content=chunks())
    assert answer.status_code == 413 and answer.json()["code"] == "body_too_large", answer.text[:300]


async def test_other_routes_take_smaller_bodies(admin) -> None:
    answer = await admin.http.post("/admin/users", json={"name": "x" * (2 * MiB)})
    assert answer.status_code == 413 and answer.json()["code"] == "body_too_large"


async def test_a_body_within_the_limit_that_cannot_be_stored_is_refused(async_channel, make_client, admin,
                                                                       mongo_db) -> None:
    """6 MiB of bytes that are not UTF-8 pass the 8 MiB limit but are 18 MiB once stored as text."""
    model, _ = await async_channel()
    client = await make_client(quota=100)
    answer = await client.http.post(f"/pass/{model}/submit", content=b"\xff" * (6 * MiB))
    assert answer.status_code == 413 and answer.json()["code"] == "body_too_large", answer.text[:300]
    assert await mongo_db.tasks.count_documents({"user_id": client.user_id}) == 0
    assert (await admin.wallet(client.user_id))["available"] == 100
