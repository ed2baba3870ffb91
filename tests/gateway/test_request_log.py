"""The gateway's log file holds one JSON line per request: method, route template, status,
duration, task and user; never the caller's key or a query-string token, and no colour codes."""
from __future__ import annotations

import json
import secrets

import httpx

from tests.harness.api import eventually


def request_lines(stack) -> list[dict]:
    lines = []
    for log_file in stack.log_dir.glob("gateway.*.log"):
        for line in log_file.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line a running gateway is writing right now, read half-written
            if entry.get("logger") == "custompass.requests":
                lines.append(entry)
    return lines


async def test_a_request_is_logged_with_its_route_status_task_and_user(stack, admin):
    user_id, key = await admin.user_with_key(quota=0)
    task_id, query_token = f"task_{secrets.token_hex(6)}", f"qs-{secrets.token_hex(8)}"
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"}) as http:
        answer = await http.get(f"/pass/some-model/task/{task_id}/fetch", params={"token": query_token})
    assert answer.status_code == 404

    async def logged():
        return next((line for line in request_lines(stack) if line.get("task_id") == task_id), None)
    line = await eventually(logged, timeout=10)
    assert line["method"] == "GET" and line["route"] == "/pass/{model:path}/task/{task_id}/fetch"
    assert line["status"] == 404 and line["user_id"] == user_id
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert line["service"] == "gateway" and line["level"] == "info"

    logs = "".join(f.read_text(errors="replace") for f in stack.log_dir.glob("gateway.*.log"))
    assert query_token not in logs and key not in logs
    assert "\x1b[" not in logs  # uvicorn's coloured copies of its messages stay out of the JSON
