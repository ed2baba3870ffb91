"""Where result files are kept and how they are fetched (every process that applies upstream
news reads these: the gateway for webhooks and cancels, the poller for polls)."""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ResultStorageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    public_base_url: str = Field("", description=(
        "The gateway's address as upstreams and clients reach it (e.g. https://gw.example.com): upstreams "
        "with webhooks report completion there, and locally stored results are served under it."))
    result_storage_dir: str = Field(".run/results", description=(
        "`local` result storage: the directory files are kept in (shared by gateways and pollers)."))
    result_storage_max_bytes: int = Field(512 * 1024 * 1024, gt=0, description=(
        "Larger result files are not copied: the result keeps the upstream's URL."))
    # The defaults keep one file's attempts (25 + ~1.5 + 25 s) inside the poller's 60 s lease.
    result_storage_timeout_s: float = Field(25.0, gt=0, description="Longest time one download attempt may take.")
    result_storage_attempts: int = Field(2, ge=1, le=10, description="Download attempts per file.")
    result_storage_backoff_s: float = Field(1.0, ge=0, le=60, description=(
        "Wait before the second attempt; it doubles each time, with jitter."))
    result_s3_endpoint_url: str = Field("", description="`s3` result storage: the S3-compatible endpoint "
                                        "(empty: AWS's own).")
    result_s3_bucket: str = ""
    result_s3_region: str = "us-east-1"
    result_s3_access_key_id: str = ""
    result_s3_secret_access_key: str = ""
    result_s3_public_url: str = Field("", description=(
        "Public URL prefix objects are reachable under (e.g. a CDN); empty: {endpoint}/{bucket}."))
