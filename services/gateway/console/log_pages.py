"""Console pages for consumption logs: filtered and paginated, totals per model, channel and
user for the period (aggregated in the database), and a CSV export streamed in batches."""
from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from services.gateway.console.names import names_in
from services.gateway.console.pages import PAGE_SIZE, PageSession, moment, page_window, render
from services.gateway.deps import Deps
from services.gateway.paging import Offset
from shared.consumption import ConsumptionLogs, LogFilter

router = APIRouter(prefix="/admin/ui/logs", include_in_schema=False)
csv_router = APIRouter(include_in_schema=False)
CSV_COLUMNS = ("created_at", "task_id", "user_id", "key_id", "model", "channel_id", "mode", "status", "hold",
               "quota", "refund", "debt", "price_ratio", "duration_s", "fail_reason", "receipt")
TOTALS_SHOWN = 20


def log_filter(user_id: str, model: str, channel_id: str, status: str, since: str, until: str) -> LogFilter:
    """The filter form's fields as the API's filter (its dates as the form sends them)."""
    return LogFilter(user_id=user_id, model=model, channel_id=channel_id, status=status,
                     since=moment(since), until=moment(until))


@router.get("", response_class=HTMLResponse)
async def log_list(request: Request, session: PageSession, deps: Deps, user_id: str = "", model: str = "",
                   channel_id: str = "", status: str = "", since: str = "",
                   until: str = "", offset: Offset = 0) -> HTMLResponse:
    wanted = log_filter(user_id, model, channel_id, status, since, until)
    logs = ConsumptionLogs(deps.db)
    rows, total = await logs.page(wanted, PAGE_SIZE, offset)
    totals = [(label, field, await logs.totals(wanted, field, TOTALS_SHOWN))
              for label, field in (("Per model", "model"), ("Per channel", "channel_id"), ("Per user", "user_id"))]
    named = [log.view() for log in rows] + [{field: total["_id"]} for _, field, rows_of in totals for total in rows_of]
    params = {"user_id": user_id, "model": model, "channel_id": channel_id, "status": status,
              "since": since, "until": until}
    return render(request, "logs.html", session, logs=rows, names=await names_in(deps.users, deps.channels, named), totals=totals, params=params,
                  window=page_window(offset, total))


@csv_router.get("/admin/ui/logs.csv")
async def log_csv(_: PageSession, deps: Deps, user_id: str = "", model: str = "", channel_id: str = "",
                  status: str = "", since: str = "", until: str = "") -> StreamingResponse:
    wanted = log_filter(user_id, model, channel_id, status, since, until)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        async for log in ConsumptionLogs(deps.db).every(wanted):
            row = log.view()  # the API's row: its `receipt` path included
            writer.writerow([row.get(c, "") for c in CSV_COLUMNS])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(rows(), media_type="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="consumption-logs.csv"'})

