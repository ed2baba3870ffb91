"""`s3` result storage: any S3-compatible bucket, through boto3 (synchronous: its calls run in
threads). Imported only when RESULT_S3_BUCKET is set, since boto3 takes about half a second to
import in every gateway and poller that would never use it."""
from __future__ import annotations

import asyncio
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.result_storage.settings import ResultStorageSettings
from shared.result_storage.stores import StoreFailed


class S3ResultStore:
    def __init__(self, settings: ResultStorageSettings) -> None:
        self._bucket = settings.result_s3_bucket
        self._client = boto3.client(
            "s3", endpoint_url=settings.result_s3_endpoint_url or None, region_name=settings.result_s3_region,
            aws_access_key_id=settings.result_s3_access_key_id or None,
            aws_secret_access_key=settings.result_s3_secret_access_key or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}))
        endpoint = settings.result_s3_endpoint_url or f"https://s3.{settings.result_s3_region}.amazonaws.com"
        self._public = (settings.result_s3_public_url or f"{endpoint.rstrip('/')}/{self._bucket}").rstrip("/")

    async def has(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self._client.head_object, Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StoreFailed(f"S3 head {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreFailed(f"S3 head {key}: {exc}") from exc
        return True

    async def put(self, key: str, source: Path, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._client.upload_file, str(source), self._bucket, key,
                                    ExtraArgs={"ContentType": content_type})
        except (BotoCoreError, ClientError) as exc:
            raise StoreFailed(f"S3 upload {key}: {exc}") from exc

    def url(self, key: str) -> str:
        return f"{self._public}/{key}"
