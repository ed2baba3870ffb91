"""`GET /api/models`: the models a caller may use, how to call each, and its price for the
caller's group (LiteLLM's `/v1/models` shape, with new-api's pricing page's facts).

Read from the enabled channels (a small collection, through the configuration cache) and the
caller's allow-lists (`key_policies.model_allowed`); no task is read."""
from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter

from services.gateway.deps import Caller, Deps
from services.gateway.dispatch_submit import WORKER_KIND
from services.gateway.groups import DEFAULT_GROUP, price_ratio
from services.gateway.key_policies import caller_scopes, model_allowed
from services.gateway.schemas import ChannelBillingPublic, ModelList, ModelPublic
from shared.channels import SUBMIT_SUFFIX, Channel
from shared.providers.registry import sync_kinds

router = APIRouter(tags=["custompass"])

SYNC, DISPATCH = "sync", "dispatch"


def _mode(channel: Channel) -> str:
    """How a channel's models are called: its kind's provider says (shared/providers/registry.py),
    and a worker channel's are dispatched."""
    if channel.kind == WORKER_KIND:
        return DISPATCH
    return SYNC if channel.kind in sync_kinds() else "async"


def _endpoint(mode: str, model: str) -> str:
    return {SYNC: f"POST /pass/{model}", DISPATCH: "POST /api/openai"}.get(mode, f"POST /pass/{model}/submit")


def _first_tried(channels: list[Channel]) -> dict[tuple[str, str, str | None], Channel]:
    """Per (model, mode, worker group): the channel tried first, highest priority then oldest."""
    first: dict[tuple[str, str, str | None], Channel] = {}
    for channel in sorted(channels, key=lambda c: -c.effective_priority):  # stable: oldest first within
        mode = _mode(channel)
        for model in channel.models:
            bare = model.removesuffix(SUBMIT_SUFFIX)
            first.setdefault((bare, mode, channel.group if mode == DISPATCH else None), channel)
    return first


def _listed(model: str, mode: str, group: str | None, channel: Channel, ratio: str) -> ModelPublic:
    billing = channel.billing
    price = Decimal(int(billing.get("price", 0))) * Decimal(ratio) if billing.get("mode") != "free" else Decimal(0)
    return ModelPublic(id=model, mode=mode, endpoint=_endpoint(mode, model), group=group,
                       billing=ChannelBillingPublic(**{k: v for k, v in billing.items()
                                                       if k in ChannelBillingPublic.model_fields}),
                       price_ratio=ratio, price=format(price.normalize(), "f"),
                       hold=channel.priced(ratio).hold_amount())


@router.get("/api/models", response_model=ModelList)
async def list_models(caller: Caller, deps: Deps) -> ModelList:
    """Sorted by model name; a model served both sync and async is listed once per mode."""
    ratio = price_ratio(caller.group)
    scopes = caller_scopes(caller.key, caller.user)
    usable = [(model, mode, group, channel) for (model, mode, group), channel
              in _first_tried(await deps.channels.enabled()).items()
              if all(model_allowed(scope.limit("models"), model) for scope in scopes)]
    return ModelList(group=caller.user.get("group") or DEFAULT_GROUP,
                     data=[_listed(*entry, ratio) for entry in sorted(usable, key=lambda e: (e[0], e[1], e[2] or ""))])
