"""The CustomPass upstream protocol (docs/upstream-protocol.md): envelope, sync call, submit, query."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from shared import pricing
from shared.channels import Channel
from shared.settings import CustomPassSettings
from shared.upstream.caller_token import UpstreamCaller, forwarded_token
from shared.upstream.errors import (UpstreamHttpError, UpstreamMalformed, UpstreamNotConnected, UpstreamRefused,
                                    UpstreamThrottled, UpstreamTimeout, UpstreamUnreachable)


@dataclass(frozen=True)
class Envelope:
    code: int | str
    message: str
    data: Any
    type: str | None
    usage: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return str(self.code) == "0"

    @property
    def is_precharge(self) -> bool:
        return self.type == "precharge"


@dataclass(frozen=True)
class UpstreamCall:
    """Where and as whom a request goes upstream."""
    base_url: str
    api_key: str
    token_header: str
    forwarded_token: str  # what the channel's `caller_token` choice sends in `token_header`; "" none
    timeout_s: float

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self.forwarded_token:
            headers[self.token_header] = self.forwarded_token
        return headers


def call_for_channel(channel: Channel, caller: UpstreamCaller | None,
                     settings: CustomPassSettings) -> UpstreamCall:
    """Per-channel setting > environment variable (CUSTOM_PASS_*) > default; `caller` is None
    when no caller is behind the request (status queries, channel tests)."""
    return UpstreamCall(
        base_url=channel.base_url.rstrip("/"), api_key=channel.api_key or "",
        token_header=channel.token_header or settings.custom_pass_header_key,
        forwarded_token=forwarded_token(channel.caller_token, caller),
        timeout_s=float(channel.timeout_s or settings.custom_pass_request_timeout))


def parse_envelope(status_code: int, body: bytes) -> Envelope:
    try:
        payload = json.loads(body)
    except ValueError:
        if status_code >= 400:
            raise UpstreamHttpError(status_code) from None
        raise UpstreamMalformed("upstream answer is not JSON") from None
    if not isinstance(payload, dict) or "code" not in payload:
        if status_code >= 400:
            raise UpstreamHttpError(status_code)
        raise UpstreamMalformed("upstream answer has no code")
    message = payload.get("message") or payload.get("msg") or ""
    usage = payload.get("usage")
    if usage is not None:
        usage = validate_usage(usage)
    return Envelope(code=payload["code"], message=str(message), data=payload.get("data"),
                    type=payload.get("type"), usage=usage)


def validate_usage(usage: Any) -> dict[str, Any]:
    if not isinstance(usage, dict):
        raise UpstreamMalformed("usage is not an object")
    try:
        prompt, completion, total = (int(usage[k]) for k in ("prompt_tokens", "completion_tokens", "total_tokens"))
    except (KeyError, TypeError, ValueError):
        raise UpstreamMalformed("usage lacks integer prompt/completion/total tokens") from None
    if min(prompt, completion, total) < 0 or total != prompt + completion:
        raise UpstreamMalformed("usage total_tokens != prompt_tokens + completion_tokens")
    return usage


@contextlib.contextmanager
def transport_errors(call: UpstreamCall) -> Iterator[None]:
    """httpx's failures, while sending or while reading an answer, as upstream errors."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise UpstreamNotConnected(f"upstream unreachable: {type(exc).__name__}") from exc
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(f"upstream did not answer within {call.timeout_s}s") from exc
    except httpx.HTTPError as exc:
        raise UpstreamUnreachable(f"upstream unreachable: {type(exc).__name__}") from exc


def accepted(status_code: int, body: bytes) -> Envelope:
    """The envelope of a successful answer; a refusal (`code` not 0, or an HTTP error status)
    raises with the upstream's own code, keeping its HTTP status when that is an error status."""
    envelope = parse_envelope(status_code, body)
    if not envelope.ok or status_code >= 400:
        message = envelope.message or ("upstream refused the request" if not envelope.ok
                                       else f"upstream answered HTTP {status_code}")
        raise UpstreamRefused(envelope.code, message, status_code if status_code >= 400 else 502, status_code)
    return envelope


def _url(call: UpstreamCall, path: str, query: str) -> str:
    return f"{call.base_url}/{path}" + (f"?{query}" if query else "")


async def post(http: httpx.AsyncClient, call: UpstreamCall, path: str, body: bytes,
               query: str = "") -> Envelope:
    with transport_errors(call):
        response = await http.post(_url(call, path, query), content=body, headers=call.headers(),
                                   timeout=call.timeout_s)
    if response.status_code == 429:
        raise UpstreamThrottled("upstream is throttling", retry_after(response))
    return accepted(response.status_code, response.content)


async def open_answer(http: httpx.AsyncClient, call: UpstreamCall, path: str, body: bytes,
                      query: str = "") -> httpx.Response:
    """Sends the request and returns once the answer's headers are in, its body unread, so a
    streamed answer can be relayed as it arrives. The caller closes the response."""
    request = http.build_request("POST", _url(call, path, query), content=body, headers=call.headers(),
                                 timeout=call.timeout_s)
    with transport_errors(call):
        return await http.send(request, stream=True)


async def read_answer(response: httpx.Response, call: UpstreamCall) -> bytes:
    try:
        with transport_errors(call):
            return await response.aread()
    finally:
        await response.aclose()


async def submit(http: httpx.AsyncClient, call: UpstreamCall, model: str, body: bytes, query: str) -> Envelope:
    """Async submit: the answer's `data.task_id` names the task upstream."""
    envelope = await post(http, call, f"{model}/submit", body, query)
    if not envelope.is_precharge:
        data = envelope.data if isinstance(envelope.data, dict) else {}
        if not isinstance(data.get("task_id"), str) or not data["task_id"]:
            raise UpstreamMalformed("submit answer has no data.task_id")
    return envelope


async def query(http: httpx.AsyncClient, call: UpstreamCall, model: str, task_ids: list[str]) -> list[dict]:
    envelope = await post(http, call, f"{model}/task/list-by-condition",
                          json.dumps({"task_ids": task_ids}).encode())
    if not isinstance(envelope.data, list):
        raise UpstreamMalformed("query answer data is not a list")
    return [item for item in envelope.data if isinstance(item, dict) and item.get("task_id")]


def hold_for_precharge_answer(channel: Channel, answer: Envelope) -> tuple[int, Envelope | None]:
    """The hold priced from the upstream's precharge answer. An upstream that answers the
    precharge request with anything else has done the real work already: that answer is the
    result (returned), and the channel's own precharge is held for it."""
    if answer.is_precharge:
        return pricing.hold_amount(channel.billing, answer.usage or {}), None
    return channel.hold_amount(), answer


def with_precharge_flag(body: bytes) -> bytes:
    payload = json.loads(body or b"{}")
    if not isinstance(payload, dict):
        raise ValueError("precharge needs a JSON object body")
    return json.dumps({**payload, "precharge": True}).encode()


def retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
