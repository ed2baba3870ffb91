"""The `custompass` console script end to end: a real process against the real stack, its exit
codes, its `--json` output and its progress on stderr."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from custompass.cli import EXIT_API_ERROR, EXIT_OK, EXIT_TASK_FAILED, EXIT_TIMEOUT, EXIT_USAGE

SCRIPT = Path(sys.executable).parent / "custompass"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


async def cli(*args: str, url: str | None = None, key: str | None = None, stdin: bytes = b"") -> Ran:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMPASS_")}
    env.update({"CUSTOMPASS_URL": url} if url else {})
    env.update({"CUSTOMPASS_API_KEY": key} if key else {})
    process = await asyncio.create_subprocess_exec(str(SCRIPT), *args, env=env, stdin=asyncio.subprocess.PIPE,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=120)
    return Ran(process.returncode, out.decode(), err.decode())


async def test_submit_wait_get_wallet_and_models_with_json(async_channel, caller, tmp_path):
    model, _ = await async_channel()
    me = await caller(quota=100)
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"prompt": "a cat", "mock": {"polls_before_done": 2}}))
    waited = await cli("submit", model, "--data", f"@{body}", "--wait", "--json", url=me.url, key=me.key)
    assert waited.code == EXIT_OK, waited.err
    task = waited.json()
    assert task["status"] == "completed" and task["result"]["url"]
    assert task["task_id"] in waited.err  # progress went to stderr

    got = await cli("get", task["task_id"], "--json", url=me.url, key=me.key)
    assert got.code == EXIT_OK and got.json()["task_id"] == task["task_id"] and got.json()["model"] == model
    plain = await cli("get", task["task_id"], url=me.url, key=me.key)
    assert plain.out.startswith(f"{task['task_id']}\tcompleted\t100%")
    watched = await cli("watch", task["task_id"], "--json", url=me.url, key=me.key)
    assert watched.code == EXIT_OK and watched.json()["status"] == "completed"
    wallet = await cli("wallet", "--json", url=me.url, key=me.key)
    assert wallet.code == EXIT_OK and wallet.json()["credited"] == 100
    models = await cli("--json", "models", url=me.url, key=me.key)
    assert models.code == EXIT_OK and model in [m["id"] for m in models.json()["data"]]
    rows = (await cli("models", url=me.url, key=me.key)).out.splitlines()
    assert f"{model}\tasync\tPOST /pass/{model}/submit\tprice 10\thold 10" in rows
    listed = await cli("list", "--model", model, "--json", url=me.url, key=me.key)
    assert [t["task_id"] for t in listed.json()["data"]] == [task["task_id"]]


async def test_exit_codes(async_channel, caller):
    model, _ = await async_channel()
    me = await caller(quota=100)
    failed = await cli("submit", model, "-d", '{"mock": {"outcome": "fail"}}', "--wait", url=me.url, key=me.key)
    assert failed.code == EXIT_TASK_FAILED and "\tfailed\t" in failed.out
    submitted = await cli("submit", model, "-d", "@-", "--json", url=me.url, key=me.key,
                          stdin=b'{"mock": {"outcome": "never"}}')
    assert submitted.code == EXIT_OK and submitted.json()["status"] != "completed"
    timed_out = await cli("watch", submitted.json()["task_id"], "--timeout", "1", "--json", url=me.url, key=me.key)
    assert timed_out.code == EXIT_TIMEOUT and timed_out.json()["task_id"] == submitted.json()["task_id"]

    missing = await cli("get", "task_missing", "--json", url=me.url, key=me.key)
    assert missing.code == EXIT_API_ERROR and missing.json()["code"] == 4004 and "404" in missing.err
    refused = await cli("--url", me.url, "--api-key", "cp-wrong", "wallet")
    assert refused.code == EXIT_API_ERROR and "401 unauthorized" in refused.err
    assert (await cli("wallet", url=me.url)).code == EXIT_USAGE  # no key
    assert (await cli("submit", model, "-d", "{not json", url=me.url, key=me.key)).code == EXIT_USAGE
    assert (await cli("frobnicate", url=me.url, key=me.key)).code == EXIT_USAGE
