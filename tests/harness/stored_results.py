"""Result files as `local` result storage leaves them, for tests of how the gateway serves them."""
from __future__ import annotations

import secrets
from pathlib import Path

from shared.result_storage.settings import ResultStorageSettings
from shared.result_storage.stores import LocalResultStore
from tests.harness.stack import Stack


async def stored(stack: Stack, name: str, content_type: str, body: bytes) -> str:
    """A file as the result copier leaves it, at its `/results/...` URL."""
    store = LocalResultStore(ResultStorageSettings(result_storage_dir=stack.env["RESULT_STORAGE_DIR"],
                                                   public_base_url=stack.gateway_url))
    source = Path(stack.log_dir) / f"upload-{secrets.token_hex(4)}"
    source.write_bytes(body)
    key = f"tsk-{secrets.token_hex(6)}/{name}"
    await store.put(key, source, content_type)
    return store.url(key)
