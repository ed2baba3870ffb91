"""The console's home: the overview of a period (today, 7 or 30 days) with its charts.

The page is the one console page that runs script: the gateway's own files only (its chart code
and uPlot, vendored under `static/vendor`), with the figures as JSON in a data attribute (Jinja's
`tojson` escapes quotes, `<`, `>` and `&`, so stored names stay text). So its
Content-Security-Policy (`security_headers.CONSOLE_CHARTS`) adds only `script-src 'self'` to the
console's."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.gateway.console.i18n import translate
from services.gateway.console.overview import IN_FLIGHT_CAP, PERIODS, Overview, read_overview
from services.gateway.console.pages import PageSession, lang_of, render
from services.gateway.deps import Deps

router = APIRouter(include_in_schema=False)
PERIOD_NAMES = {"today": "Today", "7d": "7 days", "30d": "30 days"}
STATUS_NAMES = {"SUCCESS": "Succeeded", "FAILURE": "Failed"}
CHART_LABELS = {"success": "Succeeded", "failure": "Failed", "charged": "Quota spent", "refunded": "Refunded",
                "tasks": "Tasks", "time": "Time", "model": "Model"}


@router.get("/admin/ui/overview", response_class=HTMLResponse)
async def overview(request: Request, session: PageSession, deps: Deps, period: str = "today") -> HTMLResponse:
    figures = await read_overview(deps.db, period if period in PERIODS else "today")
    return render(request, "overview.html", session, o=figures, periods=list(PERIODS), period_names=PERIOD_NAMES,
                  status_names=STATUS_NAMES, in_flight_cap=IN_FLIGHT_CAP, chart_data=chart_data(figures, lang_of(request)))


def chart_data(figures: Overview, lang: str) -> dict[str, Any]:
    """What the page's script draws: the series per bucket, the top models' spend, and the labels."""
    return {"grain": "hour" if figures.period == "today" else "day", "series": figures.series,
            "models": [{"name": m.name, "charged": m.totals.charged, "tasks": m.totals.tasks} for m in figures.models],
            "labels": {key: translate(lang, text) for key, text in CHART_LABELS.items()}}
