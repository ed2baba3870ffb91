"""Each provider reads what its upstream says a task cost, from the upstream's documented answer
shapes, in the channel's unit; a figure that cannot be believed is rejected, never raised."""
from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import httpx

from shared.channels import Channel
from shared.providers.base import UpstreamContext
from shared.providers.custompass_async import CustomPassProvider
from shared.providers.observations import cost_fields
from shared.providers.replicate import ReplicateProvider, observe
from shared.providers.runninghub import RunningHubProvider
from shared.settings import CustomPassSettings
from shared.status import TaskStatus
from shared.task_record import Task
from tests.channel_records import channel_of

TASK = Task(id="task_1", user_id="usr_1", status=TaskStatus.IN_PROGRESS, model="video-x", upstream_task_id="up-1")


async def _query(provider, stored: dict, answer: dict):
    """What `provider` observes of TASK in `answer`, on a channel of these `stored` fields."""
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        ctx = UpstreamContext(http=http, settings=CustomPassSettings())
        channel = channel_of("ch", base_url="http://up", api_key="k", **stored)
        return (await provider.query(ctx, channel, [TASK]))["task_1"]


async def test_custompass_reads_usage_cost():
    answer = {"code": 0, "data": [{"task_id": "up-1", "status": "completed", "result": {"url": "u"},
                                   "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
                                             "cost": 0.0123}}]}
    seen = await _query(CustomPassProvider(), {}, answer)
    assert seen.status is TaskStatus.SUCCESS
    assert (seen.upstream_cost, seen.upstream_cost_rejected) == (Decimal("0.0123"), None)


async def test_custompass_cost_is_read_even_when_its_token_counts_do_not_add_up():
    answer = {"code": 0, "data": [{"task_id": "up-1", "status": "completed",
                                   "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 9,
                                             "cost": "lots"}}]}
    seen = await _query(CustomPassProvider(), {}, answer)
    assert seen.usage_error and seen.upstream_cost is None and seen.upstream_cost_rejected == "not_a_number"


async def test_runninghub_reads_consume_money():
    answer = {"code": 0, "msg": "success", "data": [
        {"fileUrl": "https://rh/out.png", "fileType": "png", "taskCostTime": "12", "nodeId": "9",
         "consumeMoney": "0.05"}]}
    seen = await _query(RunningHubProvider(), {"upstream_cost_per_second": "1"}, answer)
    assert seen.upstream_cost == Decimal("0.05")  # the money it reports wins over a per-second rate
    assert seen.usage == {"seconds": 12, "consume_money": 0.05}


async def test_runninghub_without_money_prices_its_seconds_at_the_channel_rate():
    answer = {"code": 0, "msg": "success", "data": [{"fileUrl": "https://rh/out.png", "taskCostTime": "12"}]}
    assert (await _query(RunningHubProvider(), {"upstream_cost_per_second": "0.002"}, answer)).upstream_cost == \
        Decimal("0.024")
    assert (await _query(RunningHubProvider(), {}, answer)).upstream_cost is None  # no rate: nothing known


async def test_replicate_prices_predict_time_at_the_channel_rate():
    prediction = {"id": "up-1", "status": "succeeded", "output": ["https://r/out.png"],
                  "metrics": {"predict_time": 10.5, "total_time": 12.1}}
    seen = await _query(ReplicateProvider(), {"upstream_cost_per_second": "0.000975"}, prediction)
    assert seen.upstream_cost == Decimal("0.0102375")
    failed = observe({**prediction, "status": "failed", "error": "oom"}, channel_of(upstream_cost_per_second="0.001"))
    assert failed.status is TaskStatus.FAILURE and failed.upstream_cost == Decimal("0.0105")  # billed too
    assert observe(prediction, channel_of()).upstream_cost is None
    assert observe({**prediction, "metrics": "x"}, channel_of(upstream_cost_per_second="1")).upstream_cost is None


def test_replicate_rejects_a_bad_predict_time():
    seen = observe({"id": "up-1", "status": "succeeded", "metrics": {"predict_time": -3}},
                   channel_of(upstream_cost_per_second="0.001"))
    assert seen.status is TaskStatus.SUCCESS and seen.upstream_cost is None
    assert seen.upstream_cost_rejected == "negative"


def _cost_fields(observation, channel: Channel) -> dict:
    return cost_fields(channel, observation.upstream_cost, observation.upstream_cost_rejected)


def test_the_task_records_the_cost_in_the_channel_unit_or_names_the_rejection():
    channel = channel_of(upstream_cost_unit={"name": "CNY", "quota_per_unit": "70000"})
    assert _cost_fields(observe({"id": "u", "status": "succeeded", "metrics": {"predict_time": 2}},
                                dataclasses.replace(channel, upstream_cost_per_second="0.5")), channel) == {
        "upstream_cost": {"amount": "1", "unit": "CNY", "quota": 70000}}
    rejected = observe({"id": "u", "status": "succeeded", "metrics": {"predict_time": "x"}},
                       channel_of(upstream_cost_per_second="1"))
    assert _cost_fields(rejected, channel) == {"upstream_cost_error": "not_a_number"}
    huge = channel_of(upstream_cost_unit={"name": "X", "quota_per_unit": "1000000000000"})
    assert _cost_fields(observe({"id": "u", "status": "succeeded", "metrics": {"predict_time": 10**8}},
                                channel_of(upstream_cost_per_second="1")), huge) == {"upstream_cost_error": "too_large"}
    assert json.dumps(_cost_fields(observe({"id": "u", "status": "succeeded"}, channel_of()), channel)) == "{}"
