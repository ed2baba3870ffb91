"""`POST /api/task/create`: a typed task is an async task of its type's model, sent upstream as
`{type, inputImageUrl, params}`; key policies, group prices, the hold and settlement apply as on
`/pass/{model}/submit` (`async_submit`), the caller's webhook and `Idempotency-Key` too. The
webhook is the request's own field, never sent upstream."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.gateway.async_submit import AsyncSubmission
from services.gateway.caller_urls import accepted_webhook, check_input_image_url
from services.gateway.errors import InvalidRequest
from services.gateway.settings import GatewaySettings
from services.gateway.task_api.schemas import TaskCreate
from services.gateway.task_api.task_types import TaskTypeRepository, check_params
from shared.outbound_urls import OutboundUrlPolicy
from shared.task_record import Task
from shared.typed_tasks import API

if TYPE_CHECKING:  # deps wires the container: only a type here
    from services.gateway.deps import CallerIdentity


@dataclass(frozen=True)
class TypedTaskCreation:
    """The typed task use case, given what it uses (`Container.typed_task_creation` names them)."""
    settings: GatewaySettings
    outbound_urls: OutboundUrlPolicy
    task_types: TaskTypeRepository
    submission: AsyncSubmission

    async def create(self, caller: CallerIdentity, request: TaskCreate,
                     idempotency_key: str | None = None) -> Task:
        task_type = await self.task_types.get(request.type)
        if task_type is None:
            raise InvalidRequest(f"unknown task type {request.type!r}", code="unknown_task_type")
        params = check_params(task_type, request.params)
        await check_input_image_url(self.outbound_urls, request.inputImageUrl,
                                    self.settings.input_image_url_max_length)
        webhook = await accepted_webhook(self.outbound_urls, request.callback_url, request.callback_events,
                                         self.settings.callback_url_max_length)
        body = json.dumps({"type": request.type, "inputImageUrl": request.inputImageUrl, "params": request.params},
                          ensure_ascii=False).encode()
        # params are kept as JSON text: a caller's keys may be anything, `$`-prefixed ones included.
        fields = {"api": API, "task_type": request.type, "input_image_url": request.inputImageUrl, "params": params}
        # The fingerprint is the upstream body: a key replayed with another webhook is the same task.
        return await self.submission.submit(caller, task_type["model"], body, "", idempotency_key, fields,
                                            webhook=webhook, scope="POST /api/task/create")
