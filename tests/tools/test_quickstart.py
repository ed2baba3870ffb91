"""docs/quickstart.md's walkthrough, run as written: its shell blocks (the README shows the same
ones) pasted into bash against the test stack, the first block's addresses and admin token swapped
for the stack's. Every curl is --fail-with-body, so a non-2xx answer fails the script; afterwards
the user's wallet and consumption logs show the one call's price, 10, charged once."""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx

from tests.harness.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGH = "## Ten-minute walkthrough"
SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
VARIABLES = re.compile(r"GATEWAY=\S+ MOCK=\S+ ADMIN=.+")
PRICE = 10


def walkthrough_blocks(path: Path) -> list[str]:
    text = path.read_text()
    assert WALKTHROUGH in text, f"{path.name} has no walkthrough"
    return SHELL_BLOCK.findall(text.split(WALKTHROUGH, 1)[1].split("\n## ", 1)[0])


def test_readme_walkthrough_is_the_quickstarts() -> None:
    assert walkthrough_blocks(ROOT / "README.md") == walkthrough_blocks(ROOT / "docs" / "quickstart.md")


def wallet_settled(stack: Stack, user_id: str, timeout_s: float = 60) -> dict:
    """The user's wallet once no quota is held any more (settlement captured the hold)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.admin_token}"}) as api:
        while True:
            wallet = api.get(f"/admin/users/{user_id}/wallet").raise_for_status().json()
            if wallet["held"] == 0 and wallet["used"] > 0 or time.monotonic() > deadline:
                return wallet
            time.sleep(0.2)


def test_quickstart_commands_run_as_written(stack: Stack, tmp_path: Path) -> None:
    first, *rest = walkthrough_blocks(ROOT / "docs" / "quickstart.md")
    assert VARIABLES.fullmatch(first.strip()), first
    variables = f"GATEWAY={stack.gateway_url} MOCK={stack.upstream_url} ADMIN={stack.admin_token}\n"
    script = "set -euo pipefail\n" + variables + "".join(rest)
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    user_id = done.stdout.splitlines()[0].strip()
    assert '"status":"completed"' in done.stdout
    wallet = wallet_settled(stack, user_id)
    assert (wallet["used"], wallet["held"], wallet["available"]) == (PRICE, 0, 1000 - PRICE), wallet
    with httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.admin_token}"}) as api:
        logs = api.get("/admin/consumption-logs", params={"user_id": user_id}).raise_for_status().json()
    assert logs["total"] == 1 and logs["data"][0]["model"] == "my-video", logs
    assert logs["data"][0]["id"] in done.stdout.splitlines(), logs  # the task the walkthrough submitted
