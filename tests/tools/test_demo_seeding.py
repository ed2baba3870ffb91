"""The demo seeding of `make run` (tools/run_local.py): idempotent by the ids it remembers (or by
name and kind when demo.json is lost), and never the reason a stack stops."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tools import devinfra
from tools.run_local import seed_demo, seed_demo_or_warn

MOCK_URL = "http://127.0.0.1:9"  # never called: seeding only records it in the channels


@pytest.fixture(scope="module")
def seeding_stack(infra):
    from tests.conftest import ARTIFACTS
    from tests.harness.stack import Stack
    system = Stack(infra, ARTIFACTS, services=["billing", "gateway"]).start()
    yield system
    system.stop()


def test_reseeding_finds_the_demo_again_and_doubles_nothing(seeding_stack, tmp_path: Path) -> None:
    gateway, token = seeding_stack.gateway_url, seeding_stack.admin_token
    demo_file = tmp_path / "demo.json"
    first = seed_demo(gateway, token, MOCK_URL, demo_file)
    admin = httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    # Live channel names are unique now: an admin's channel cannot take a demo name to be mistaken for it.
    for name in ("demo-worker", "demo-mock"):
        lookalike = admin.post("/admin/channels", json={
            "name": name, "kind": "custompass_async", "base_url": "http://upstream.example", "api_key": "k",
            "models": [f"admins-{name}/submit"], "billing": {"mode": "per_call", "price": 1}})
        assert lookalike.status_code == 409, lookalike.text
    second = seed_demo(gateway, token, MOCK_URL, demo_file)
    assert second["channels"] == first["channels"]
    demo_file.unlink()  # demo.json lost, the database kept: found by name and kind, nothing doubled
    third = seed_demo(gateway, token, MOCK_URL, demo_file)
    assert third["channels"] == first["channels"]
    names = [c["name"] for c in admin.get("/admin/channels", params={"limit": 500}).json()]
    assert sorted(names) == sorted(first["channels"])
    assert admin.get(f"/admin/users/{first['user_id']}/wallet").json()["credited"] == 1000  # credited once
    admin.close()


def test_a_failed_seeding_warns_and_keeps_what_an_earlier_run_seeded(tmp_path: Path, capsys) -> None:
    demo_file = tmp_path / "demo.json"
    earlier = {"user_id": "usr_1", "api_key": "cp-key", "worker_token": "wt", "channels": {}}
    demo_file.write_text(json.dumps(earlier))
    unreachable = f"http://127.0.0.1:{devinfra.free_port()}"
    assert seed_demo_or_warn(unreachable, "token", MOCK_URL, demo_file) == earlier
    assert "WARNING: seeding the demo failed" in capsys.readouterr().err
    demo_file.unlink()
    assert seed_demo_or_warn(unreachable, "token", MOCK_URL, demo_file) == {}
