"""Admin API for channels."""
from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Query, Response, status

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import Conflict, InvalidRequest, NotFound
from services.gateway.schemas import ChannelCreate, ChannelPublic, ChannelUpdate
from services.gateway.paging import Offset
from shared.channels import Channel, ChannelExists

router = APIRouter(prefix="/admin/channels", tags=["admin"], dependencies=[AdminAuth])

NEEDS_BASE_URL = {"custompass_async", "custompass_sync", "replicate", "runninghub"}


def public_channel(channel: Channel) -> ChannelPublic:
    """The record's fields the public schema names; the secrets only as whether they are set."""
    stored = {f.name: getattr(channel, f.name) for f in dataclasses.fields(channel)
              if f.name in ChannelPublic.model_fields}
    return ChannelPublic(api_key_set=bool(channel.api_key), webhook_secret_set=bool(channel.webhook_secret), **stored)


def _stored(body: ChannelCreate | ChannelUpdate, kind: str) -> dict:
    fields = body.model_dump(mode="json", exclude_unset=isinstance(body, ChannelUpdate))
    if kind in NEEDS_BASE_URL and "base_url" in fields and not fields["base_url"]:
        raise InvalidRequest(f"a {kind} channel needs base_url")
    if fields.get("base_url"):
        fields["base_url"] = fields["base_url"].rstrip("/")
    if "models" in fields and not fields["models"]:
        raise InvalidRequest("models must list at least one model")
    if fields.get("enabled") is True:  # an operator enabling a channel also ends its cool-down
        fields.update(consecutive_failures=0, cooldown_until=None)
    return fields


def _name_taken(exc: ChannelExists) -> Conflict:
    return Conflict(f"a channel named {exc} exists already", code="channel_exists")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ChannelPublic)
async def create_channel(body: ChannelCreate, deps: Deps) -> ChannelPublic:
    try:
        return public_channel(await deps.channels.create(_stored(body, body.kind)))
    except ChannelExists as exc:
        raise _name_taken(exc) from None


@router.get("", response_model=list[ChannelPublic])
async def list_channels(deps: Deps, limit: int = Query(100, ge=1, le=500), offset: Offset = 0,
                        include_archived: bool = Query(False, description="Also the deleted (archived) channels."),
                        ) -> list[ChannelPublic]:
    return [public_channel(c) for c in await deps.channels.list(limit, offset, include_archived)]


@router.get("/{channel_id}", response_model=ChannelPublic)
async def get_channel(channel_id: str, deps: Deps) -> ChannelPublic:
    return public_channel(await existing_channel(deps, channel_id))


@router.put("/{channel_id}", response_model=ChannelPublic)
async def update_channel(channel_id: str, body: ChannelUpdate, deps: Deps) -> ChannelPublic:
    channel = await existing_channel(deps, channel_id)
    if channel.archived_at:
        raise Conflict(f"channel {channel_id} is archived", code="channel_archived")
    changes = _stored(body, channel.kind)  # the kind never changes, so it is checked against the stored one
    try:
        if changes:
            channel = await deps.channels.update(channel_id, changes)
    except ChannelExists as exc:
        raise _name_taken(exc) from None
    if channel is None:
        raise NotFound(f"channel {channel_id} not found")
    return public_channel(channel)


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_channel(channel_id: str, deps: Deps) -> Response:
    """Archives the channel (repeating it changes nothing): it stops serving at once on this
    gateway and within CONFIG_CACHE_TTL_S on the others, and leaves the lists; its document stays,
    since tasks and consumption logs name its id, and tasks in flight on it still finish and settle."""
    if await deps.channels.archive(channel_id) is None:
        raise NotFound(f"channel {channel_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def existing_channel(deps: Deps, channel_id: str) -> Channel:
    channel = await deps.channels.get(channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} not found")
    return channel
