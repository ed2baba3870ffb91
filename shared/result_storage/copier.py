"""Copying a successful result's files to our storage and rewriting their URLs.

Every http(s) URL string anywhere in the result (Replicate's `output`, RunningHub's `fileUrl`s, a
CustomPass upstream's links) is downloaded (size-capped, time-limited, retried with backoff) and
stored; the result then names our copy. A file that cannot be copied keeps the upstream's URL and
the failure is recorded on the task (`result_storage_errors`): the work was done and paid for, so
the task still succeeds and is charged; only the file's lifetime is the upstream's.

The URLs are the upstream's to choose, so the copier is handed the outbound client
(`shared.outbound_urls`): a URL, or a redirect, to a loopback, private or metadata address is
refused like any other file that cannot be copied, and is never retried.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.backoff import backoff_s
from shared.channels import Channel
from shared.outbound_urls import OutboundUrlRefused
from shared.result_storage.metrics import RESULT_FILES
from shared.result_storage.settings import ResultStorageSettings
from shared.result_storage.stores import LocalResultStore, ResultStore, StoreFailed

log = logging.getLogger(__name__)

STORAGE_CHOICES = ("none", "local", "s3")
_EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,10}$")


class CopyFailed(Exception):
    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class KeptResult:
    result: Any
    errors: list[str] = field(default_factory=list)


class ResultCopier:
    def __init__(self, outbound: httpx.AsyncClient, settings: ResultStorageSettings) -> None:
        """`outbound`: `shared.outbound_urls.outbound_client`, never the channels' own client."""
        self._http, self._settings = outbound, settings
        self._stores: dict[str, ResultStore] = {"local": LocalResultStore(settings)}
        if settings.result_s3_bucket:
            from shared.result_storage.s3_store import S3ResultStore  # boto3 is slow to import: only when used
            self._stores["s3"] = S3ResultStore(settings)

    async def keep(self, channel: Channel, task_id: str, result: Any) -> KeptResult:
        choice = channel.result_storage or "none"
        if choice == "none":
            return KeptResult(result)
        urls = list(dict.fromkeys(_urls_in(result)))
        store = self._stores.get(choice)
        if store is None:
            log.error("channel %s stores results in %s, which is not configured (RESULT_S3_BUCKET)",
                      channel.id, choice)
            RESULT_FILES.labels(channel.id, "failed").inc(len(urls))
            return KeptResult(result, [f"result storage {choice} is not configured"] if urls else [])
        copies: dict[str, str] = {}
        errors: list[str] = []
        for url in urls:
            try:
                copies[url] = await self._copy(store, channel.id, task_id, url)
            except (CopyFailed, StoreFailed) as exc:
                RESULT_FILES.labels(channel.id, "failed").inc()
                log.error("result file of task %s not copied; it keeps the upstream URL: %s", task_id, exc)
                errors.append(f"{url}: {exc}")
        return KeptResult(_rewritten(result, copies), errors)

    async def _copy(self, store: ResultStore, channel_id: str, task_id: str, url: str) -> str:
        key = f"{task_id}/{file_name(task_id, url)}"
        if await store.has(key):
            RESULT_FILES.labels(channel_id, "reused").inc()
            return store.url(key)
        with tempfile.TemporaryDirectory(prefix="custompass-result-") as scratch:
            path = Path(scratch) / "file"
            content_type = await self._download_with_retries(url, path)
            await store.put(key, path, content_type)
        RESULT_FILES.labels(channel_id, "stored").inc()
        return store.url(key)

    async def _download_with_retries(self, url: str, path: Path) -> str:
        settings = self._settings
        for attempt in range(settings.result_storage_attempts):
            try:
                return await self._download(url, path)
            except CopyFailed as exc:
                if not exc.retry or attempt == settings.result_storage_attempts - 1:
                    raise
            await asyncio.sleep(backoff_s(settings.result_storage_backoff_s, attempt))
        raise AssertionError("unreachable: the last attempt raises")

    async def _download(self, url: str, path: Path) -> str:
        cap = self._settings.result_storage_max_bytes
        try:
            async with asyncio.timeout(self._settings.result_storage_timeout_s):
                async with self._http.stream("GET", url, follow_redirects=True) as response:
                    if response.status_code >= 400:
                        retry = response.status_code in (408, 429) or response.status_code >= 500
                        raise CopyFailed(f"the upstream answered HTTP {response.status_code}", retry)
                    if int(response.headers.get("content-length") or 0) > cap:
                        raise CopyFailed(f"larger than RESULT_STORAGE_MAX_BYTES ({cap})", retry=False)
                    size = 0
                    with path.open("wb") as sink:
                        async for chunk in response.aiter_bytes():
                            size += len(chunk)
                            if size > cap:
                                raise CopyFailed(f"larger than RESULT_STORAGE_MAX_BYTES ({cap})", retry=False)
                            sink.write(chunk)
                    return response.headers.get("content-type") or "application/octet-stream"
        except TimeoutError:
            raise CopyFailed(f"download took over {self._settings.result_storage_timeout_s} s") from None
        except httpx.HTTPError as exc:
            raise CopyFailed(f"download failed: {type(exc).__name__}") from None
        except OutboundUrlRefused as refused:
            raise CopyFailed(f"refused by the outbound-URL policy: the URL {refused.reason}", retry=False) from None


def file_name(task_id: str, url: str) -> str:
    """Stable per task and URL (so a repeated copy finds the first), unguessable without the
    upstream's URL; keeps the URL's extension so the file still says what it is."""
    digest = hashlib.sha256(f"{task_id}\n{url}".encode()).hexdigest()[:32]
    extension = PurePosixPath(urlsplit(url).path).suffix
    return digest + (extension.lower() if _EXTENSION.match(extension) else "")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) <= 4096 \
        and not any(c.isspace() for c in value)


def _urls_in(result: Any):
    if _is_url(result):
        yield result
    elif isinstance(result, dict):
        for value in result.values():
            yield from _urls_in(value)
    elif isinstance(result, list):
        for value in result:
            yield from _urls_in(value)


def _rewritten(result: Any, copies: dict[str, str]) -> Any:
    if isinstance(result, str):
        return copies.get(result, result)
    if isinstance(result, dict):
        return {name: _rewritten(value, copies) for name, value in result.items()}
    if isinstance(result, list):
        return [_rewritten(value, copies) for value in result]
    return result
