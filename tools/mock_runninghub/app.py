"""RunningHub's workflow task API as a client sees it: `POST /task/openapi/{create,status,outputs,cancel}`
answering `{code, msg, data}` envelopes, and a TASK_END webhook to the task's `webhookUrl`.
A task's behaviour comes from the `mock` object of the create body:

- `outcome`: success | failed (default success); `queue_ms` queued (813), then running (804)
  until `run_ms` after creation (defaults 100 / 300);
- `task_cost_time` / `consume_money`: the cost fields of its outputs (defaults "12" / "0.05");
- `busy`: {"key": K, "times": N}: the first N creates naming K answer 415 (instance full);
  `wallet_empty`: true: the create answers 416;
- `webhook_copies`: how many times TASK_END is sent (default 1; 0: none);
- `throttle_outputs`: the first N outputs reads answer HTTP 429 with `Retry-After: 1`.
- `output_downloads`: how many times its output file (`GET /files/{taskId}.png`) can be downloaded
  before it expires and answers 404 (default: never expires).

`/_mock/*` lets tests read what happened: requests and webhook deliveries.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


def envelope(code: int, msg: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": data}


class Task:
    def __init__(self, workflow_id: str, body: dict[str, Any]) -> None:
        self.id = str(secrets.randbelow(10**18))
        self.workflow_id, self.webhook = workflow_id, body.get("webhookUrl")
        self.mock: dict[str, Any] = dict(body.get("mock") or {})
        self.created = time.time()
        self.canceled = False
        self.throttled = 0
        self.downloads = 0

    def elapsed_ms(self) -> float:
        return (time.time() - self.created) * 1000

    @property
    def status(self) -> str:
        if self.canceled:
            return "FAILED"
        if self.elapsed_ms() < self.mock.get("queue_ms", 100):
            return "QUEUED"
        if self.elapsed_ms() < self.mock.get("run_ms", 300):
            return "RUNNING"
        return "SUCCESS" if self.mock.get("outcome", "success") == "success" else "FAILED"

    def outputs(self, base_url: str) -> dict[str, Any]:
        status = self.status
        if status == "QUEUED":
            return envelope(813, "APIKEY_TASK_IS_QUEUED")
        if status == "RUNNING":
            return envelope(804, "APIKEY_TASK_IS_RUNNING")
        if status == "FAILED":
            reason = "canceled" if self.canceled else "CUDA out of memory"
            return envelope(805, "APIKEY_TASK_STATUS_ERROR",
                            {"failedReason": {"node_name": "KSampler", "exception_message": reason}})
        return envelope(0, "success", [{
            "fileUrl": f"{base_url}/files/{self.id}.png", "fileType": "png", "nodeId": "9",
            "taskCostTime": self.mock.get("task_cost_time", "12"), "consumeMoney": self.mock.get("consume_money", "0.05"),
            "consumeCoins": None, "thirdPartyConsumeMoney": None}])


def create_app(api_key: str | None = None) -> FastAPI:
    app = FastAPI(title="mock RunningHub", docs_url=None, redoc_url=None)
    tasks: dict[str, Task] = {}
    busy_seen: Counter[str] = Counter()
    requests: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    running: set[asyncio.Task] = set()

    async def intake(request: Request) -> dict[str, Any]:
        body = await request.json()
        requests.append({"path": request.url.path, "body": body, "at": time.time()})
        return body

    def authorized(body: dict[str, Any]) -> bool:
        return api_key is None or body.get("apiKey") == api_key

    async def deliver(task: Task, base_url: str) -> None:
        while task.status not in ("SUCCESS", "FAILED"):
            await asyncio.sleep(0.02)
        event = {"event": "TASK_END", "taskId": task.id, "eventData": json.dumps(task.outputs(base_url))}
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(task.mock.get("webhook_copies", 1)):
                try:
                    outcome: Any = (await http.post(task.webhook, json=event)).status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                deliveries.append({"task_id": task.id, "status": outcome, "at": time.time()})

    def known(body: dict[str, Any]) -> Task | None:
        return tasks.get(str(body.get("taskId")))

    @app.post("/task/openapi/create")
    async def create(request: Request) -> dict[str, Any]:
        body = await intake(request)
        if not authorized(body):
            return envelope(412, "TOKEN_INVALID")
        mock = body.get("mock") or {}
        busy = mock.get("busy") or {}
        if busy and busy_seen[busy["key"]] < busy["times"]:
            busy_seen[busy["key"]] += 1
            return envelope(415, "TASK_INSTANCE_MAXED")
        if mock.get("wallet_empty"):
            return envelope(416, "TASK_CREATE_FAILED_BY_NOT_ENOUGH_WALLET")
        task = Task(str(body.get("workflowId")), body)
        tasks[task.id] = task
        if task.webhook and task.mock.get("webhook_copies", 1):
            job = asyncio.create_task(deliver(task, str(request.base_url).rstrip("/")))
            running.add(job)
            job.add_done_callback(running.discard)
        return envelope(0, "success", {"taskId": task.id, "clientId": secrets.token_hex(8), "taskStatus": "QUEUED",
                                       "netWssUrl": None, "promptTips": "{}"})

    @app.post("/task/openapi/status")
    async def status(request: Request) -> dict[str, Any]:
        task = known(await intake(request))
        return envelope(0, "success", task.status) if task else envelope(807, "APIKEY_TASK_NOT_FOUND")

    @app.post("/task/openapi/outputs")
    async def outputs(request: Request) -> Any:
        task = known(await intake(request))
        if task is None:
            return envelope(807, "APIKEY_TASK_NOT_FOUND")
        if task.throttled < task.mock.get("throttle_outputs", 0):
            task.throttled += 1
            return JSONResponse({"error": "too many requests"}, 429, headers={"Retry-After": "1"})
        return task.outputs(str(request.base_url).rstrip("/"))

    @app.post("/task/openapi/cancel")
    async def cancel(request: Request) -> dict[str, Any]:
        task = known(await intake(request))
        if task is None:
            return envelope(807, "APIKEY_TASK_NOT_FOUND")
        if task.status in ("QUEUED", "RUNNING"):
            task.canceled = True
        return envelope(0, "success")

    @app.get("/files/{task_id}.png")
    async def output_file(task_id: str) -> Response:
        task = tasks.get(task_id)
        if task is None or task.status != "SUCCESS":
            return Response(status_code=404)
        task.downloads += 1
        requests.append({"path": f"/files/{task_id}.png", "body": {}, "at": time.time()})
        if task.downloads > task.mock.get("output_downloads", float("inf")):
            return Response(status_code=404)  # expired
        return Response(b"\x89PNG\r\n\x1a\n" + task_id.encode(), media_type="image/png")

    @app.get("/_mock/requests")
    async def list_requests(path_contains: str = "", task_id: str = "") -> list[dict[str, Any]]:
        return [r for r in requests if path_contains in r["path"]
                and (not task_id or str(r["body"].get("taskId")) == task_id)]

    @app.get("/_mock/deliveries")
    async def list_deliveries(task_id: str = "") -> list[dict[str, Any]]:
        return [d for d in deliveries if task_id in d["task_id"]]

    @app.get("/_mock/stats")
    async def stats() -> dict[str, int]:
        return {"tasks": len(tasks), "requests": len(requests), "deliveries": len(deliveries)}

    return app
