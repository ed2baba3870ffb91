"""Result files kept in `local` result storage (`shared/result_storage`), at the stable URL the
task's result names: `GET /results/{task_id}/{name}`. Anyone holding the URL may read the file,
as with the upstream's own links; names are unguessable without the upstream's URL."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from services.gateway.deps import Deps
from services.gateway.errors import NotFound
from shared.result_storage.stores import RESULTS_PATH, LocalResultStore, safe_key

router = APIRouter(prefix=RESULTS_PATH, tags=["results"])


@router.get("/{task_id}/{name}", response_class=FileResponse,
            responses={200: {"description": "The file, with the content type the upstream gave it."}})
async def stored_result(task_id: str, name: str, deps: Deps) -> FileResponse:
    key = safe_key(task_id, name)  # plain names only: nothing outside the storage directory
    store = LocalResultStore(deps.settings)
    if key is None or not await store.has(key):
        raise NotFound("no such result file", code="result_not_found")
    return FileResponse(store.path(key), media_type=store.content_type(key))
