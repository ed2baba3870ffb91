"""Where copied result files live: a directory served by the gateway (here), or an S3-compatible
bucket (`s3_store.py`).
A file's key is `{task_id}/{name}`, derived from the task and the upstream URL, so a repeated copy
(a redelivery, a poll racing a webhook) finds the file already there and gives the same URL."""
from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Protocol

from shared.result_storage.settings import ResultStorageSettings

RESULTS_PATH = "/results"  # where the gateway serves locally stored files
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,100}(\.[A-Za-z0-9]{1,10})?$")
CONTENT_TYPE_SUFFIX = ".content-type"  # beside each local file; never a servable name (see _SEGMENT)


class StoreFailed(Exception):
    """The storage refused or could not be reached."""


class ResultStore(Protocol):
    async def has(self, key: str) -> bool: ...

    async def put(self, key: str, source: Path, content_type: str) -> None: ...

    def url(self, key: str) -> str: ...


def safe_key(task_id: str, name: str) -> str | None:
    """`task_id/name` when both are plain names (no separators, no `..`), else None."""
    if _SEGMENT.match(task_id) and _SEGMENT.match(name):
        return f"{task_id}/{name}"
    return None


class LocalResultStore:
    def __init__(self, settings: ResultStorageSettings) -> None:
        self._root = Path(settings.result_storage_dir).resolve()
        self._base_url = settings.public_base_url.rstrip("/")

    def path(self, key: str) -> Path:
        return self._root / key

    async def has(self, key: str) -> bool:
        return self.path(key).is_file()

    async def put(self, key: str, source: Path, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, source, content_type)

    def _put(self, key: str, source: Path, content_type: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        try:
            # The content type first: a file that exists is complete, with its type beside it.
            Path(f"{target}{CONTENT_TYPE_SUFFIX}").write_text(content_type)
            shutil.copyfile(source, partial)
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise StoreFailed(f"cannot write {key}: {exc.strerror}") from exc

    def url(self, key: str) -> str:
        return f"{self._base_url}{RESULTS_PATH}/{key}"  # a bare path when PUBLIC_BASE_URL is unset

    def content_type(self, key: str) -> str:
        try:
            return Path(f"{self.path(key)}{CONTENT_TYPE_SUFFIX}").read_text().strip() or "application/octet-stream"
        except OSError:
            return "application/octet-stream"
