"""Console page for user groups: their price ratio, description and the default limits of their
users' keys; create and edit through the admin API's own route code (groups are not deleted: users
and tasks name them)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.console.pages import (KEY_LIMITS, PAGE_SIZE, PageSession, Posted, PostedForm, listed,
                                            optional_number, page_window, render, saved)
from services.gateway.deps import Deps
from services.gateway.paging import Offset
from services.gateway.routes import admin_groups
from services.gateway.schemas import GroupCreate, GroupUpdate, KeyDefaults

router = APIRouter(prefix="/admin/ui/groups", include_in_schema=False)
PAGE = "/admin/ui/groups"


@router.get("", response_class=HTMLResponse)
async def group_list(request: Request, session: PageSession, deps: Deps, offset: Offset = 0,
                     notice: str | None = None, error: str | None = None) -> HTMLResponse:
    groups = await admin_groups.list_groups(deps, PAGE_SIZE, offset)
    return render(request, "groups.html", session, groups=groups, notice=notice, error=error,
                  window=page_window(offset, await deps.groups.count()), params={})


@router.post("")
async def create_group(form: PostedForm, deps: Deps):
    return await saved(PAGE, form, lambda: admin_groups.create_group(GroupCreate(
        name=str(form.get("name", "")).strip(), price_ratio=str(form.get("price_ratio") or "1"),
        description=form.get("description") or None, key_defaults=_key_defaults(form)), deps))


@router.post("/{name}")
async def update_group(name: str, form: PostedForm, deps: Deps):
    return await saved(PAGE, form, lambda: admin_groups.update_group(name, GroupUpdate(
        price_ratio=str(form.get("price_ratio") or ""), description=form.get("description") or None,
        key_defaults=_key_defaults(form) or KeyDefaults()), deps))


def _key_defaults(form: Posted) -> KeyDefaults | None:
    """The form's key limits (blank: none); None when it sets none at all. Checked by KeyDefaults."""
    fields: dict[str, Any] = {name: number for name in KEY_LIMITS if (number := optional_number(form, name)) is not None}
    if (models := listed(form.get("models"))):
        fields["models"] = models
    return KeyDefaults(**fields) if fields else None
