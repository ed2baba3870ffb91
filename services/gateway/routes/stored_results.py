"""Result files kept in `local` result storage (`shared/result_storage`), at the stable URL the
task's result names: `GET /results/{task_id}/{name}`. Anyone holding the URL may read the file,
as with the upstream's own links; names are unguessable without the upstream's URL.
The file comes from an upstream but is served from our origin: `result_files.py` keeps it inert."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from services.gateway.deps import Deps
from services.gateway.errors import NotFound
from services.gateway.result_files import serving_headers
from shared.result_storage.stores import RESULTS_PATH, LocalResultStore, safe_key

router = APIRouter(prefix=RESULTS_PATH, tags=["results"])


@router.get("/{task_id}/{name}", response_class=FileResponse, responses={200: {"description": (
        "The file. Passive media and text keep the type the upstream gave them; SVG, HTML, script "
        "and unknown types are attachments (`application/octet-stream` but for SVG), all sandboxed.")}})
async def stored_result(task_id: str, name: str, deps: Deps) -> FileResponse:
    key = safe_key(task_id, name)  # plain names only: nothing outside the storage directory
    store = LocalResultStore(deps.settings)
    if key is None or not await store.has(key):
        raise NotFound("no such result file", code="result_not_found")
    media_type, headers = serving_headers(store.content_type(key), name)
    return FileResponse(store.path(key), media_type=media_type, headers=headers)
