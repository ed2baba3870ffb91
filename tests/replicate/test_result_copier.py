"""The result copier on its own, against the mock Replicate's expiring output files and a real
S3-compatible server (moto's, a process on a free port): a repeated copy reuses the first one
(same URL, no second download), oversized files are refused, S3 objects keep their content type,
and a file on an address the outbound-URL policy refuses is never downloaded. The mock listens
on 127.0.0.1, which these copiers allow, as the test stack does."""
from __future__ import annotations

import subprocess
import sys
import time

import boto3
import httpx
import pytest

from shared.outbound_urls import OutboundUrlPolicy, outbound_client
from shared.result_storage.copier import ResultCopier
from shared.result_storage.settings import ResultStorageSettings
from tests.channel_records import channel_of
from tests.harness.api import eventually
from tools import devinfra
from tools.mock_replicate.app import output_bytes


def outbound(allowlist: str = "127.0.0.1/32") -> httpx.AsyncClient:
    return outbound_client(OutboundUrlPolicy.from_setting(allowlist))


@pytest.fixture(scope="module")
def s3_endpoint():
    port = devinfra.free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                break
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
        time.sleep(0.05)
    yield url
    server.kill()
    server.wait()


async def finished_prediction(replicate, **mock) -> str:
    """A succeeded prediction on the mock (created directly, no gateway involved); its output URL."""
    created = await replicate.http.post("/v1/models/a/b/predictions", json={"input": {"mock": {"run_ms": 0, **mock}}})
    prediction_id = created.json()["id"]

    async def succeeded():
        return (await replicate.http.get(f"/v1/predictions/{prediction_id}")).json()["status"] == "succeeded"
    await eventually(succeeded, timeout=10)
    return f"{replicate.url}/files/{prediction_id}.png"


async def test_repeated_copy_reuses_the_first(replicate, tmp_path):
    url = await finished_prediction(replicate, output_downloads=1)
    settings = ResultStorageSettings(result_storage_dir=str(tmp_path), public_base_url="https://gw.example")
    channel = channel_of("ch_test", result_storage="local")
    async with outbound() as http:
        copier = ResultCopier(http, settings)
        first = await copier.keep(channel, "task_a", {"images": [url], "seed": 7})
        again = await copier.keep(channel, "task_a", {"images": [url], "seed": 7})  # a redelivery
    assert first == again and first.errors == []
    (stored,) = first.result["images"]
    assert stored.startswith("https://gw.example/results/task_a/") and first.result["seed"] == 7
    key = stored.removeprefix("https://gw.example/results/")
    assert (tmp_path / key).read_bytes() == output_bytes(url.rsplit("/", 1)[1].removesuffix(".png"))
    assert len(await replicate.requests(url.removeprefix(replicate.url))) == 1  # downloaded once


async def test_oversized_file_is_not_copied(replicate, tmp_path):
    url = await finished_prediction(replicate)
    settings = ResultStorageSettings(result_storage_dir=str(tmp_path), result_storage_max_bytes=4)
    async with outbound() as http:
        kept = await ResultCopier(http, settings).keep(channel_of("ch", result_storage="local"), "task_b", url)
    assert kept.result == url and kept.errors == [f"{url}: larger than RESULT_STORAGE_MAX_BYTES (4)"]
    assert list(tmp_path.iterdir()) == []


async def test_s3_storage_keeps_the_file_and_its_content_type(replicate, s3_endpoint):
    url = await finished_prediction(replicate, output_downloads=1)
    settings = ResultStorageSettings(result_s3_endpoint_url=s3_endpoint, result_s3_bucket="results",
                                     result_s3_access_key_id="test", result_s3_secret_access_key="test")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    s3.create_bucket(Bucket="results")
    async with outbound() as http:
        copier = ResultCopier(http, settings)
        kept = await copier.keep(channel_of("ch", result_storage="s3"), "task_c", [url])
        assert await copier.keep(channel_of("ch", result_storage="s3"), "task_c", [url]) == kept
        (stored,) = kept.result
        assert stored.startswith(f"{s3_endpoint}/results/task_c/") and kept.errors == []
    key = stored.removeprefix(f"{s3_endpoint}/results/")
    stored_object = s3.get_object(Bucket="results", Key=key)
    assert stored_object["Body"].read() == output_bytes(url.rsplit("/", 1)[1][:-4])
    assert stored_object["ContentType"] == "image/png"


async def test_s3_channel_without_a_bucket_keeps_upstream_urls(replicate, tmp_path):
    url = await finished_prediction(replicate)
    async with outbound() as http:
        kept = await ResultCopier(http, ResultStorageSettings()).keep(channel_of("ch", result_storage="s3"), "t", [url])
    assert kept.result == [url] and kept.errors == ["result storage s3 is not configured"]


async def test_a_result_url_on_loopback_is_refused_unless_allow_listed(replicate, tmp_path):
    url = await finished_prediction(replicate)
    settings = ResultStorageSettings(result_storage_dir=str(tmp_path), result_storage_attempts=3)
    async with outbound(allowlist="") as http:
        kept = await ResultCopier(http, settings).keep(channel_of("ch", result_storage="local"), "task_d", [url])
    assert kept.result == [url]  # the upstream's URL is kept and the failure recorded, as for any copy failure
    assert kept.errors == [f"{url}: refused by the outbound-URL policy: the URL points to a private, loopback "
                           "or reserved address (127.0.0.1)"]
    assert await replicate.requests(url.removeprefix(replicate.url)) == []  # not once, not retried
    assert list(tmp_path.iterdir()) == []
