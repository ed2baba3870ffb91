"""Admin API for user groups and their price ratios."""
from __future__ import annotations

from fastapi import APIRouter, Query, status

from services.gateway.deps import AdminAuth, Deps
from services.gateway.errors import Conflict, NotFound
from services.gateway.groups import GroupExists
from services.gateway.paging import Offset
from services.gateway.schemas import GroupCreate, GroupPublic, GroupUpdate

router = APIRouter(prefix="/admin/groups", tags=["admin"], dependencies=[AdminAuth])


def _public(group: dict) -> GroupPublic:
    return GroupPublic(name=group["_id"], price_ratio=float(group["price_ratio"]), description=group.get("description"),
                       key_defaults=group.get("key_defaults"))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GroupPublic)
async def create_group(body: GroupCreate, deps: Deps) -> GroupPublic:
    try:
        defaults = body.key_defaults.model_dump(mode="json", exclude_none=True) if body.key_defaults else None
        return _public(await deps.groups.create(body.name, body.price_ratio, body.description, defaults))
    except GroupExists:
        raise Conflict(f"group {body.name} exists already", code="group_exists") from None


@router.get("", response_model=list[GroupPublic])
async def list_groups(deps: Deps, limit: int = Query(100, ge=1, le=500), offset: Offset = 0) -> list[GroupPublic]:
    return [_public(g) for g in await deps.groups.list(limit, offset)]


@router.get("/{name}", response_model=GroupPublic)
async def get_group(name: str, deps: Deps) -> GroupPublic:
    group = await deps.groups.get(name)
    if group is None:
        raise NotFound(f"group {name} not found")
    return _public(group)


@router.put("/{name}", response_model=GroupPublic)
async def update_group(name: str, body: GroupUpdate, deps: Deps) -> GroupPublic:
    changes = body.model_dump(exclude_unset=True)
    if body.key_defaults is not None:
        changes["key_defaults"] = body.key_defaults.model_dump(mode="json", exclude_none=True)
    group = await deps.groups.update(name, changes) if changes else await deps.groups.get(name)
    if group is None:
        raise NotFound(f"group {name} not found")
    return _public(group)
