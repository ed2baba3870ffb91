"""The admin pages of worker dispatch over HTTP: `GET /admin/dispatch` (admin token) and the
console's `/admin/ui/dispatch` (+ `.json`, console session) show the same figures, `/dashboard`
redirects there, `/test-worker` speaks the worker protocol from a browser (test_pages_in_browser
drives both pages)."""
from __future__ import annotations

import httpx

from tests.harness.api import eventually


async def test_the_dispatch_state_shows_workers_queue_executing_and_recent(
        worker_group, connect_worker, dispatch_client, dispatch_admin):
    group, token = await worker_group(billing={"mode": "free"})
    worker = await connect_worker(group, token)
    _, client = await dispatch_client()
    ids = [(await client.post("/api/openai", json={"data": {"n": n}, "group": group, "async": True})).json()["taskId"]
           for n in range(2)]
    first = await worker.next_task()

    async def state():
        answer = await dispatch_admin.http.get("/admin/dispatch")
        assert answer.status_code == 200, answer.text
        return answer.json()
    now = await state()
    [me] = [w for w in now["workers"] if w["workerId"] == worker.id]
    assert me == {**me, "group": group, "busy": True, "taskId": first["taskId"]}
    [mine] = [g for g in now["groups"] if g["group"] == group]
    assert mine == {"group": group, "online": 1, "busy": 1, "queued": 1}
    assert [(t["taskId"], t["request"]["data"]) for t in now["queued"] if t["group"] == group] == [(ids[1], {"n": 1})]
    [running] = [t for t in now["executing"] if t["group"] == group]
    assert (running["taskId"], running["workerId"], running["request"]["data"]) == (ids[0], worker.id, {"n": 0})

    await worker.complete(first, "one")
    await worker.fail(await worker.next_task(), "two failed")

    async def both_recent():
        recent = {t["taskId"]: t for t in (await state())["recent"]}
        return recent if set(ids) <= set(recent) else None
    recent = await eventually(both_recent, timeout=10)
    assert (recent[ids[0]]["status"], recent[ids[0]]["result"]) == ("completed", "one")
    assert (recent[ids[1]]["status"], recent[ids[1]]["error"]) == ("failed", "two failed")
    assert (await dispatch_admin.http.get("/admin/dispatch", headers={"Authorization": "Bearer no"})).status_code == 401


async def test_the_pages_are_served_and_hold_no_secret(dispatch_stack):
    async with httpx.AsyncClient(base_url=dispatch_stack.gateway_url) as http:
        dashboard = await http.get("/dashboard")
        worker = await http.get("/test-worker")
        # Its script is a file beside it (the page's security policy admits no inline script).
        worker_script = await http.get("/dispatch-pages/test-worker.js")
        assert (await http.get("/dispatch-pages/dispatch.py")).status_code == 404  # only the pages' own files
        assert (await http.get("/dispatch-pages/dashboard.js")).status_code == 404  # moved into the console
    assert dashboard.status_code == 308 and dashboard.headers["location"] == "/admin/ui/dispatch"
    assert worker.status_code == 200 and 'src="/dispatch-pages/test-worker.js"' in worker.text
    assert worker_script.headers["content-type"].startswith("text/javascript")
    assert "/ws?" in worker_script.text and "task_complete" in worker_script.text


async def test_the_console_dispatch_page_and_its_figures_need_the_console_session(
        worker_group, connect_worker, dispatch_stack, dispatch_admin):
    group, token = await worker_group(billing={"mode": "free"})
    worker = await connect_worker(group, token)
    async with httpx.AsyncClient(base_url=dispatch_stack.gateway_url) as http:
        for path in ("/admin/ui/dispatch", "/admin/ui/dispatch.json"):
            anonymous = await http.get(path)
            assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login"), path
            # The admin token opens the admin API, not the console's pages.
            with_token = await http.get(path, headers={"Authorization": f"Bearer {dispatch_stack.admin_token}"})
            assert with_token.status_code == 303, path
        assert (await http.post("/admin/login", data={"token": dispatch_stack.admin_token})).status_code == 303
        page, figures = await http.get("/admin/ui/dispatch"), await http.get("/admin/ui/dispatch.json")
    assert page.status_code == 200 and worker.id in page.text and 'src="/admin/static/dispatch.js"' in page.text
    assert dispatch_stack.admin_token not in page.text
    assert figures.status_code == 200 and figures.headers["content-type"].startswith("application/json")
    api = (await dispatch_admin.http.get("/admin/dispatch")).json()
    assert set(figures.json()) == set(api) and worker.id in {w["workerId"] for w in figures.json()["workers"]}
