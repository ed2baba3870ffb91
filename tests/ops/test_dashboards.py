"""The Grafana dashboards (deploy/grafana/*.json) are well-formed, and every PromQL expression in
them and in the alert rules (deploy/k8s/base/prometheusrule.yaml) reads only metrics that the
running services export."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from websockets.asyncio.client import connect

from tests.harness.api import eventually
from tests.ops.exported import exported_metric_names
from tests.ops.promql import metric_names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana").glob("*.json"))
ALERT_RULES = DEPLOY / "k8s" / "base" / "prometheusrule.yaml"


def panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def expressions(dashboard: dict) -> list[str]:
    return [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]


def alert_expressions() -> list[str]:
    rule = yaml.safe_load(ALERT_RULES.read_text())
    return [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]


def test_the_overview_and_billing_dashboards_exist():
    assert {p.stem for p in DASHBOARDS} >= {"overview", "billing"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_importable_grafana_json(path: Path):
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in panels(dashboard):
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys(), panel["title"]
        assert panel["targets"], f"{panel['title']}: no query"
        # The data source is a variable, so the dashboard imports into any Grafana unchanged.
        assert panel["datasource"]["uid"].strip("${}") in variables, panel["title"]


def test_promql_metric_names_are_found_in_expressions():
    expr = ('histogram_quantile(0.95, sum by (le) (rate(a_seconds_bucket{route=~"/x.*"}[5m]))) '
            '/ on (job) sum(rate(b_total[1m] offset 5m)) * 60 + time() - max(c_timestamp_seconds)')
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c_timestamp_seconds"}


async def test_dashboards_and_alerts_only_read_metrics_the_services_export(stack, async_channel, make_client, mongo_db,
                                                                           admin, runninghub_channel):
    # A little real traffic: a top-up (admin), a hold, a poll of the mock upstream, a settlement.
    model, _ = await async_channel()
    client = await make_client(quota=100)
    response = await client.submit(model, {"prompt": "a dashboard", "mock": {"polls_before_done": 1}})
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]

    async def settled():
        return ((await mongo_db.tasks.find_one({"_id": task_id})) or {}).get("settled")
    await eventually(settled, timeout=30)

    # RunningHub: an empty upstream wallet, and an output expired before it could be copied.
    rh_model, _ = await runninghub_channel(result_storage="local")
    refused = await client.submit(rh_model, {"mock": {"wallet_empty": True}})
    assert refused.status_code == 503 and refused.json()["code"] == "upstream_wallet_empty", refused.text
    expired = await client.submit(rh_model, {"mock": {"output_downloads": 0, "webhook_copies": 0}})
    assert expired.status_code == 200, expired.text
    task_id = expired.json()["task_id"]
    await eventually(settled, timeout=30)

    # An open worker socket: the worker dispatch gauges report its group.
    token = await admin.http.post("/admin/worker-tokens", json={"group": "dashboards"})
    assert token.status_code == 201, token.text
    socket = await connect(stack.gateway_url.replace("http://", "ws://")
                           + f"/ws?group=dashboards&token={token.json()['token']}")

    wanted = {path.stem: set().union(*map(metric_names, expressions(json.loads(path.read_text()))))
              for path in DASHBOARDS}
    wanted["alert rules"] = set().union(*map(metric_names, alert_expressions()))

    async def every_name_exported():
        exported = set().union(*(await exported_metric_names(stack)).values())
        missing = {name: sorted(names - exported) for name, names in wanted.items() if names - exported}
        assert not missing, f"queries read metrics no service exports: {missing}"
        return True
    # Consumer lag and queue depth are sampled every few seconds, so their series may appear a moment later.
    try:
        await eventually(every_name_exported, timeout=20, interval=0.5)
    finally:
        await socket.close()
