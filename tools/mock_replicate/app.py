"""Replicate's predictions API as a client sees it (https://replicate.com/docs/reference/http):
create (by version or model), get, cancel, the default webhook secret, and `completed` webhooks
signed the Standard Webhooks way. A prediction's behaviour comes from `input.mock`:

- `outcome`: succeeded | failed | canceled | aborted (default succeeded), reached `run_ms` after creation;
- `predict_time`: seconds reported in `metrics.predict_time` on success (default 2.5);
- `webhook_delay_ms`: how long after completion the webhook is sent (default 0); `webhook_copies`:
  how many times the same delivery is sent (default 1);
- `throttle_gets`: the first N status reads answer 429 with `Retry-After: 1`; `get_delay_ms`: how long a
  status read takes to answer (its status is the one at the end of the wait).
- `output_downloads`: how many times its output file (`GET /files/{id}.png`, public like Replicate's
  delivery URLs) can be downloaded before it expires and answers 404 (default: never expires).

`/_mock/*` lets tests read what happened: requests, webhook deliveries and their answers.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response

TERMINAL = ("succeeded", "failed", "canceled", "aborted")


class Prediction:
    def __init__(self, version: str, given: dict[str, Any], webhook: str | None, events: list[str]) -> None:
        self.id = secrets.token_hex(10)
        self.version, self.input, self.webhook, self.events = version, given, webhook, events
        self.mock: dict[str, Any] = dict(given.get("mock") or {})
        self.created = time.time()
        self.canceled_at: float | None = None
        self.throttled_gets = 0
        self.downloads = 0

    @property
    def status(self) -> str:
        if self.canceled_at is not None:
            return "canceled"
        if time.time() - self.created >= self.mock.get("run_ms", 300) / 1000:
            return self.mock.get("outcome", "succeeded")
        return "processing" if time.time() - self.created > 0.05 else "starting"

    def wire(self, base_url: str) -> dict[str, Any]:
        status = self.status
        answer: dict[str, Any] = {
            "id": self.id, "version": self.version, "input": self.input, "status": status, "logs": "",
            "output": None, "error": None, "metrics": {}, "created_at": _iso(self.created),
            "urls": {"get": f"{base_url}/v1/predictions/{self.id}",
                     "cancel": f"{base_url}/v1/predictions/{self.id}/cancel"}}
        if status == "succeeded":
            answer["output"] = [f"{base_url}/files/{self.id}.png"]
            answer["metrics"] = {"predict_time": self.mock.get("predict_time", 2.5)}
        elif status == "failed":
            answer["error"] = self.mock.get("error", "CUDA out of memory")
        if status in TERMINAL:
            answer["completed_at"] = _iso(time.time())
        return answer


def output_bytes(prediction_id: str) -> bytes:
    """A prediction's output file: a PNG signature and the prediction's id, so tests can tell files apart."""
    return b"\x89PNG\r\n\x1a\n" + prediction_id.encode()


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + "Z"


def signed_headers(secret: str, delivery_id: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{delivery_id}.{timestamp}.".encode() + body,
                                          hashlib.sha256).digest()).decode()
    return {"webhook-id": delivery_id, "webhook-timestamp": timestamp, "webhook-signature": f"v1,{signature}",
            "content-type": "application/json"}


def create_app(required_key: str | None = None) -> FastAPI:
    app = FastAPI(title="mock Replicate", docs_url=None, redoc_url=None)
    predictions: dict[str, Prediction] = {}
    requests: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []  # status reads as answered
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    running: set[asyncio.Task] = set()

    @app.middleware("http")
    async def record_and_authorize(request: Request, call_next):
        if not request.url.path.startswith("/_mock"):
            requests.append({"method": request.method, "path": request.url.path, "at": time.time(),
                             "body": (await request.body()).decode("utf-8", "replace")})
            if required_key and not request.url.path.startswith("/files/") \
                    and request.headers.get("authorization") != f"Bearer {required_key}":
                return JSONResponse({"title": "Unauthenticated", "detail": "invalid token", "status": 401}, 401)
        return await call_next(request)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def deliver(prediction: Prediction, base_url: str) -> None:
        """Sends the `completed` webhook once the prediction has finished (or was canceled)."""
        while prediction.status not in TERMINAL:
            await asyncio.sleep(0.02)
        await asyncio.sleep(prediction.mock.get("webhook_delay_ms", 0) / 1000)
        body = json.dumps(prediction.wire(base_url)).encode()
        delivery_id = f"msg_{secrets.token_hex(8)}"
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(prediction.mock.get("webhook_copies", 1)):
                try:
                    answer = await http.post(prediction.webhook, content=body,
                                             headers=signed_headers(secret, delivery_id, body))
                    outcome: Any = answer.status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                deliveries.append({"prediction_id": prediction.id, "webhook_id": delivery_id, "status": outcome,
                                   "at": time.time()})

    def create(request: Request, version: str, payload: dict[str, Any]) -> JSONResponse:
        given = payload.get("input")
        if not isinstance(given, dict):
            return JSONResponse({"title": "Invalid input", "detail": "input is required", "status": 422}, 422)
        prediction = Prediction(version, given, payload.get("webhook"), payload.get("webhook_events_filter") or [])
        predictions[prediction.id] = prediction
        if prediction.webhook and "completed" in (prediction.events or ["completed"]):
            task = asyncio.create_task(deliver(prediction, base(request)))
            running.add(task)
            task.add_done_callback(running.discard)
        return JSONResponse(prediction.wire(base(request)), 201)

    @app.post("/v1/predictions")
    async def create_by_version(request: Request) -> JSONResponse:
        payload = await request.json()
        if not payload.get("version"):
            return JSONResponse({"title": "Invalid version", "detail": "version is required", "status": 422}, 422)
        return create(request, payload["version"], payload)

    @app.post("/v1/models/{owner}/{name}/predictions")
    async def create_by_model(owner: str, name: str, request: Request) -> JSONResponse:
        return create(request, f"{owner}/{name}", await request.json())

    def existing(prediction_id: str) -> Prediction:
        if prediction_id not in predictions:
            raise HTTPException(404, "Not found")
        return predictions[prediction_id]

    @app.get("/v1/predictions/{prediction_id}")
    async def get(prediction_id: str, request: Request) -> JSONResponse:
        prediction = existing(prediction_id)
        if prediction.throttled_gets < prediction.mock.get("throttle_gets", 0):
            prediction.throttled_gets += 1
            return JSONResponse({"title": "Too many requests", "detail": "throttled", "status": 429}, 429,
                                headers={"Retry-After": "1"})
        await asyncio.sleep(prediction.mock.get("get_delay_ms", 0) / 1000)
        answer = prediction.wire(base(request))
        reads.append({"prediction_id": prediction.id, "status": answer["status"], "at": time.time()})
        return JSONResponse(answer)

    @app.post("/v1/predictions/{prediction_id}/cancel")
    async def cancel(prediction_id: str, request: Request) -> JSONResponse:
        prediction = existing(prediction_id)
        if prediction.status not in TERMINAL:
            prediction.canceled_at = time.time()
        return JSONResponse(prediction.wire(base(request)))

    @app.get("/files/{prediction_id}.png")
    async def output_file(prediction_id: str) -> Response:
        prediction = predictions.get(prediction_id)
        if prediction is None or prediction.status != "succeeded":
            raise HTTPException(404, "Not found")
        prediction.downloads += 1
        if prediction.downloads > prediction.mock.get("output_downloads", float("inf")):
            raise HTTPException(404, "Not found")  # expired, as Replicate deletes outputs after an hour
        return Response(output_bytes(prediction_id), media_type="image/png")

    @app.get("/v1/webhooks/default/secret")
    async def webhook_secret() -> dict[str, str]:
        return {"key": secret}

    @app.get("/_mock/requests")
    async def list_requests(path_contains: str = "") -> list[dict[str, Any]]:
        return [r for r in requests if path_contains in r["path"]]

    @app.get("/_mock/deliveries")
    async def list_deliveries(prediction_id: str = "") -> list[dict[str, Any]]:
        return [d for d in deliveries if prediction_id in d["prediction_id"]]

    @app.get("/_mock/reads")
    async def list_reads(prediction_id: str = "") -> list[dict[str, Any]]:
        return [r for r in reads if prediction_id in r["prediction_id"]]

    @app.get("/_mock/stats")
    async def stats() -> dict[str, int]:
        return {"predictions": len(predictions), "requests": len(requests), "deliveries": len(deliveries)}

    return app
