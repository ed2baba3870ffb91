"""The console's reconciliation page: per channel, what we charged for the period's tasks against
what the upstream says they cost us, the margin, and the tasks outside the channel's band (the
figures of `GET /admin/reconciliation`, and its CSV export, behind the console session)."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.gateway.console.pages import PageSession, moment, render
from services.gateway.deps import Deps
from services.gateway.errors import ApiError
from services.gateway.reconciliation_report import CSV_HEADERS, MAX_CHANNELS, as_csv, period, reconcile

router = APIRouter(prefix="/admin/ui", include_in_schema=False)
TASKS_SHOWN = 50  # outside the band, per channel, on the page
TASKS_EXPORTED = 1000  # and in the CSV export (the admin API's largest `limit`)


@router.get("/reconciliation", response_class=HTMLResponse)
async def reconciliation_page(request: Request, session: PageSession, deps: Deps, channel_id: str = "",
                              since: str = "", until: str = "") -> HTMLResponse:
    params = {"channel_id": channel_id, "since": since, "until": until}
    channels = await deps.channels.list(MAX_CHANNELS, 0, include_archived=True)
    try:
        start, end, figures = await _figures(deps, channel_id, since, until, TASKS_SHOWN)
    except ApiError as exc:  # a bad period or an unknown channel: the form again, with why
        return render(request, "reconciliation.html", session, status_code=exc.status, error=exc.message,
                      params=params, channels=channels, figures=[], since="", until="")
    return render(request, "reconciliation.html", session, params=params, channels=channels, figures=figures,
                  since=start, until=end, exported=TASKS_EXPORTED)


@router.get("/reconciliation.csv")
async def reconciliation_csv(_: PageSession, deps: Deps, channel_id: str = "", since: str = "",
                             until: str = "") -> Response:
    _, _, figures = await _figures(deps, channel_id, since, until, TASKS_EXPORTED)
    return Response(as_csv(figures), media_type="text/csv; charset=utf-8", headers=CSV_HEADERS)


async def _figures(deps: Deps, channel_id: str, since: str, until: str, listed: int) -> tuple[str, str, list[dict]]:
    start, end = period(moment(since), moment(until), deps.settings.reconciliation_max_period_days)
    return start, end, await reconcile(deps.channels, deps.tasks, channel_id or None, start, end, listed)
