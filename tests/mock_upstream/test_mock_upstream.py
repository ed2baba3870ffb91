"""The mock CustomPass upstream speaks the protocol and plays the scripted outcomes."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tools.mock_upstream import create_app
from tools.mock_upstream.scenario import MockState

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(monkeypatch):
    # A developer's shell may export the key; these tests want the open mock.
    monkeypatch.delenv("MOCK_UPSTREAM_KEY", raising=False)
    return create_app()


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://mock") as c:
        yield c


async def submit(client, model="img", **mock):
    r = await client.post(f"/{model}/submit", json={"prompt": "cat", "mock": mock})
    assert r.status_code == 200, r.text
    return r.json()


async def fetch(client, task_id, model="img"):
    r = await client.get(f"/{model}/task/{task_id}/fetch")
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def test_submit_progress_rises_then_completes_with_usage(client):
    env = await submit(client, polls_before_done=3, usage={"prompt_tokens": 7, "completion_tokens": 5})
    assert env["code"] == 0 and env["msg"] == "success"
    data = env["data"]
    assert data["task_id"].startswith("up_") and data["status"] == "submitted"
    assert data["progress"] == "0%"
    items = [await fetch(client, data["task_id"]) for _ in range(5)]
    assert [i["status"] for i in items] == ["processing"] * 3 + ["completed"] * 2
    assert [i["progress"] for i in items] == ["25%", "50%", "75%", "100%", "100%"]
    assert "usage" not in items[0] and "result" not in items[0]
    assert items[3]["usage"] == {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}
    assert items[3]["result"] == {"url": f"https://example.invalid/out/{data['task_id']}.png"}


async def test_done_after_ms_finishes_by_the_clock_not_by_the_number_of_polls(client, app):
    later = (await submit(client, done_after_ms=60_000, polls_before_done=0))["data"]["task_id"]
    now = (await submit(client, done_after_ms=0, polls_before_done=5))["data"]["task_id"]
    assert [(await fetch(client, later))["status"] for _ in range(3)] == ["processing"] * 3
    assert (await fetch(client, now))["status"] == "completed"
    described = {t["task_id"]: t for t in (await client.get("/_mock/tasks")).json()}
    assert described[now]["done_at"] == described[now]["created_at"]
    assert described[later]["done_at"] == pytest.approx(described[later]["created_at"] + 60)


async def test_sync_call_echoes_body_with_usage(client):
    r = await client.post("/chat", json={"q": "hi", "mock": {"usage": {"prompt_tokens": 1,
                                                                      "completion_tokens": 2,
                                                                      "cost": 0.5}}})
    env = r.json()
    assert env["code"] == 0 and env["data"]["echo"]["q"] == "hi" and env["data"]["model"] == "chat"
    assert env["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.5}


async def test_outcome_fail_reports_failed_with_error(client):
    task_id = (await submit(client, outcome="fail", polls_before_done=0,
                            fail_error="nsfw"))["data"]["task_id"]
    item = await fetch(client, task_id)
    assert item["status"] == "failed" and item["error"] == "nsfw" and "usage" not in item
    sync = (await client.post("/chat", json={"mock": {"outcome": "fail"}})).json()
    assert sync["code"] == 5001 and sync["message"] == "generation failed"


async def test_outcome_never_stays_processing(client):
    task_id = (await submit(client, outcome="never"))["data"]["task_id"]
    items = [await fetch(client, task_id) for _ in range(20)]
    assert {i["status"] for i in items} == {"processing"}
    assert all(int(i["progress"].rstrip("%")) < 100 for i in items)
    with pytest.raises(TimeoutError):  # a sync call never answers
        await asyncio.wait_for(client.post("/chat", json={"mock": {"outcome": "never"}}), 0.2)


async def test_outcome_error_envelope(client):
    for path in ("/img/submit", "/img"):
        r = await client.post(path, json={"mock": {"outcome": "error", "error_code": 4242,
                                                   "error_message": "no quota"}})
        assert r.status_code == 200
        assert r.json()["code"] == 4242 and r.json()["message"] == "no quota"
    assert (await client.get("/_mock/stats")).json()["accepted_tasks"] == 0


async def test_outcome_http_error(client):
    r = await client.post("/img/submit", json={"mock": {"outcome": "http_error"}})
    assert r.status_code == 500 and r.text == "upstream exploded"
    r = await client.post("/img", json={"mock": {"outcome": "http_error", "http_status": 503}})
    assert r.status_code == 503 and r.text == "upstream exploded"


async def test_outcome_malformed(client):
    r = await client.post("/img/submit", json={"mock": {"outcome": "malformed"}})
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    r = await client.post("/img", json={"mock": {"outcome": "malformed",
                                                 "malformed_body": "missing_code"}})
    assert r.status_code == 200 and "code" not in r.json()


async def test_custom_status_words(client):
    task_id = (await submit(client, status_word="finished", processing_word="running"))["data"]["task_id"]
    assert (await fetch(client, task_id))["status"] == "running"
    assert (await fetch(client, task_id))["status"] == "finished"


async def test_precharge_two_request_protocol(client):
    mock = {"precharge": True, "precharge_usage": {"prompt_tokens": 100, "completion_tokens": 50}}
    for path in ("/img/submit", "/img"):
        env = (await client.post(path, json={"precharge": True, "mock": mock})).json()
        assert env["code"] == 0 and env["type"] == "precharge" and "data" not in env
        assert env["usage"] == {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
    assert (await client.get("/_mock/tasks")).json() == []
    # The second request, without the flag, is the real one.
    env = (await client.post("/img/submit", json={"mock": mock})).json()
    assert env["data"]["status"] == "submitted" and "type" not in env
    # Upstreams without precharge ignore the flag.
    env = (await client.post("/img/submit", json={"precharge": True})).json()
    assert env["data"]["task_id"].startswith("up_")
    stats = (await client.get("/_mock/stats")).json()
    assert stats["accepted_tasks"] == 2 and stats["precharge_calls"] == 2


async def test_batch_query_skips_unknown_ids(client):
    a = (await submit(client, polls_before_done=0))["data"]["task_id"]
    b = (await submit(client, polls_before_done=2))["data"]["task_id"]
    r = await client.post("/img/task/list-by-condition", json={"task_ids": [a, "up_nope", b, a]})
    env = r.json()
    assert env["code"] == 0
    assert [(i["task_id"], i["status"]) for i in env["data"]] == [(a, "completed"), (b, "processing")]
    r = await client.post("/img/task/list-by-condition", json={"ids": "x"})
    assert r.status_code == 400 and r.json()["code"] == 400


async def test_fetch_unknown_task_is_404_envelope(client):
    r = await client.get("/img/task/up_missing/fetch")
    assert r.status_code == 404 and r.json()["code"] == 404 and r.json()["message"]


async def test_records_method_path_query_headers_body(client):
    await client.post("/img/submit?trace=1&tag=a&tag=b", json={"prompt": "dog"},
                      headers={"Authorization": "Bearer ch-key", "X-Custom-Token": "tok-1"})
    await client.post("/img", content=b"not json", headers={"content-type": "text/plain"})
    (rec,) = (await client.get("/_mock/requests", params={"path_contains": "submit"})).json()
    assert rec["method"] == "POST" and rec["path"] == "/img/submit"
    assert rec["query"] == {"trace": "1", "tag": ["a", "b"]}
    assert rec["headers"]["authorization"] == "Bearer ch-key"
    assert rec["headers"]["x-custom-token"] == "tok-1"
    assert rec["body"] == {"prompt": "dog"} and isinstance(rec["at"], float)
    every = (await client.get("/_mock/requests")).json()
    assert [r["body"] for r in every] == [{"prompt": "dog"}, "not json"]  # /_mock/* not recorded
    await client.delete("/_mock/requests")
    assert (await client.get("/_mock/requests")).json() == []


async def test_rate_limit_answers_429_then_recovers(app, client):
    now = [1000.0]
    app.state.mock = MockState(clock=lambda: now[0])
    task_id = (await submit(client, rate_limit=2, polls_before_done=5))["data"]["task_id"]
    codes = [(await client.get(f"/img/task/{task_id}/fetch")).status_code for _ in range(2)]
    r = await client.post("/img/task/list-by-condition", json={"task_ids": [task_id]})
    assert codes == [200, 200] and r.status_code == 429
    assert r.headers["retry-after"] == "1" and r.json()["code"] == 429
    tasks = (await client.get("/_mock/tasks")).json()
    assert tasks[0]["polls"] == 2  # a refused query does not advance the task
    now[0] += 1.0
    assert (await client.get(f"/img/task/{task_id}/fetch")).status_code == 200
    stats = (await client.get("/_mock/stats")).json()
    assert stats["status_queries"] == 4 and stats["rate_limited"] == 1


async def test_per_model_default_scenario(client):
    r = await client.put("/_mock/scenarios/video", json={"outcome": "fail", "polls_before_done": 0})
    assert r.status_code == 200
    failing = (await submit(client, model="video"))["data"]["task_id"]
    other = (await submit(client, model="img", polls_before_done=0))["data"]["task_id"]
    # Request fields override the default field by field.
    overridden = (await submit(client, model="video", outcome="success"))["data"]["task_id"]
    assert (await fetch(client, failing, "video"))["status"] == "failed"
    assert (await fetch(client, other))["status"] == "completed"
    assert (await fetch(client, overridden, "video"))["status"] == "completed"
    # The scenario is fixed at submit time: changing defaults leaves old tasks alone.
    await client.delete("/_mock/scenarios")
    assert (await fetch(client, failing, "video"))["status"] == "failed"
    fresh = (await submit(client, model="video", polls_before_done=0))["data"]["task_id"]
    assert (await fetch(client, fresh, "video"))["status"] == "completed"
    assert (await client.put("/_mock/scenarios/x", json={"outcome": "bogus"})).status_code == 422


async def test_invalid_mock_is_400(client):
    r = await client.post("/img/submit", json={"mock": {"outcom": "fail"}})
    assert r.status_code == 400 and "outcom" in r.json()["message"]


async def test_delays_for_timeouts(client):
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(submit(client, delay_ms=2000), 0.1)
    task_id = (await submit(client, poll_delay_ms=2000))["data"]["task_id"]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(fetch(client, task_id), 0.1)


async def test_required_key(monkeypatch):
    monkeypatch.setenv("MOCK_UPSTREAM_KEY", "from-env")
    for app, key in ((create_app(required_key="sk-1"), "sk-1"), (create_app(), "from-env")):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as c:
            r = await c.post("/img/submit", json={}, headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401 and r.json()["code"] == 401
            assert r.json()["message"] == "invalid key"
            r = await c.post("/img/submit", json={}, headers={"Authorization": f"Bearer {key}"})
            assert r.json()["code"] == 0
            assert len((await c.get("/_mock/requests")).json()) == 2  # refused ones too


async def test_concurrent_submits_are_all_kept(client):
    envs = await asyncio.gather(*(submit(client, delay_ms=5) for _ in range(50)))
    assert len({e["data"]["task_id"] for e in envs}) == 50
    assert (await client.get("/_mock/stats")).json()["accepted_tasks"] == 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_server_over_http():
    port = _free_port()
    env = {**os.environ, "MOCK_UPSTREAM_PORT": str(port), "MOCK_UPSTREAM_KEY": "real-key"}
    proc = subprocess.Popen([sys.executable, "-m", "tools.mock_upstream", "--host", "127.0.0.1",
                             "--log-level", "warning"],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + 20
            while True:
                assert proc.poll() is None, proc.stdout.read().decode()
                try:
                    if http.get("/_mock/stats").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "mock upstream did not start"
                time.sleep(0.05)
            assert http.post("/img/submit", json={}).status_code == 401
            auth = {"Authorization": "Bearer real-key", "X-Custom-Token": "caller"}
            task_id = http.post("/img/submit", json={"p": 1}, headers=auth).json()["data"]["task_id"]
            assert http.get(f"/img/task/{task_id}/fetch", headers=auth).json()["data"]["progress"] == "50%"
            batch = http.post("/img/task/list-by-condition", json={"task_ids": [task_id]}, headers=auth)
            assert batch.json()["data"][0]["status"] == "completed"
            recorded = http.get("/_mock/requests", params={"path_contains": "/img/"}).json()
            assert recorded[-1]["headers"]["x-custom-token"] == "caller"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_faults_win_over_request_scenarios_until_cleared(client):
    before = (await submit(client, polls_before_done=0))["data"]["task_id"]
    r = await client.put("/_mock/faults", json={"outcome": "error", "error_code": 5003, "rate_limit": 0})
    assert r.status_code == 200
    refused = await client.post("/img/submit", json={"mock": {"outcome": "success"}})
    assert refused.json()["code"] == 5003
    assert (await client.get(f"/img/task/{before}/fetch")).status_code == 429
    assert (await client.delete("/_mock/faults")).status_code == 200
    assert (await fetch(client, before))["status"] == "completed"
    after = (await submit(client, polls_before_done=0))["data"]["task_id"]
    assert (await fetch(client, after))["status"] == "completed"  # no fault stuck to the new task
    assert (await client.get("/_mock/stats")).json()["accepted_tasks"] == 2
