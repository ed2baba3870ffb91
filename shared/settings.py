"""Settings read from the environment (pydantic-settings); each service extends `CommonSettings`.

Every field maps to the upper-cased environment variable of the same name, e.g.
`kafka_bootstrap_servers` <- `KAFKA_BOOTSTRAP_SERVERS`. Defaults suit a laptop; `make run`
and the tests point them at the local stand-ins.
"""
from __future__ import annotations

import uuid

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


MIN_SECRET_LENGTH = 24


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    environment: str = Field("development", description="development | production (CUSTOMPASS_ENV)",
                             validation_alias="CUSTOMPASS_ENV")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = Field("", description="Prefix for every topic, to run isolated stacks on one broker.")
    kafka_session_timeout_ms: int = Field(10000, description="Consumer group session timeout; a new "
                                          "member's join takes about half of it.")
    kafka_heartbeat_interval_ms: int = 3000
    kafka_publish_timeout_s: float = Field(5.0, gt=0, description=(
        "How long a publish may wait for the broker before it counts as failed (the producer "
        "alone would wait 40 s while the broker is down)."))
    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str = "custompass"
    log_level: str = "INFO"
    bind_host: str = Field("127.0.0.1", validation_alias="CUSTOMPASS_BIND_HOST", description=(
        "The address the service's HTTP port listens on: loopback unless told otherwise (the image "
        "sets 0.0.0.0, as a container is reached through its own interface)."))
    http_keepalive_s: int = Field(75, ge=1, le=3600, description=(
        "How long an idle HTTP connection is kept open for the client's next request. Longer than "
        "the idle timeouts of clients and load balancers (httpx 5 s, Node 5 s, nginx and cloud load "
        "balancers 60 s), so the client is the one that closes: were the server to close first, a "
        "request sent on the connection as it closes would fail with no answer."))
    instance_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:8],
                             description="Names this process in logs, events and consumer ids.")
    config_cache_ttl_s: float = Field(1.0, ge=0, le=60, description=(
        "How long configuration documents are served from memory (gateway: API keys, users, groups, "
        "channels; billing: users): a change made through another process applies here within this "
        "bound (0: read them on every use)."))
    ledger_lease_s: float = Field(10.0, gt=0, description=(
        "How long one process owns a money operation (billing; a gateway placing holds): after a "
        "crash, billing's recovery sweep resumes the operation once this has passed."))
    outbound_url_allowlist: str = Field("", validation_alias=AliasChoices(
        "OUTBOUND_URL_ALLOWLIST", "INPUT_IMAGE_URL_ALLOWLIST"), description=(
        "Comma-separated hosts and networks (CIDR) that callback URLs, result file URLs and inputImageUrl "
        "may name although they are private, loopback or otherwise not public (shared.outbound_urls). "
        "INPUT_IMAGE_URL_ALLOWLIST, its former name, is read when this is not set."))
    otel_exporter_otlp_endpoint: str = Field("", description=(
        "The OTLP/HTTP collector spans are exported to (e.g. http://otel-collector:4318; the SDK adds "
        "/v1/traces). Empty: tracing is off and costs nothing (shared/tracing)."))

    @property
    def is_production(self) -> bool:
        return self.environment.lower() in {"prod", "production"}

    def refuse_weak_secret(self, variable: str, value: str) -> None:
        """The one rule for secrets a service cannot work safely without (the admin token, the
        callback signing key, ...): in production, missing or shorter than MIN_SECRET_LENGTH
        refuses the start, so a deployment never runs on an empty or guessable key."""
        if self.is_production and len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"{variable} must be set to at least {MIN_SECRET_LENGTH} characters when "
                             f"CUSTOMPASS_ENV=production (e.g. `openssl rand -hex 32`)")


class CustomPassSettings(BaseSettings):
    """The CustomPass upstream defaults; a channel's own setting overrides each of them."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    custom_pass_header_key: str = "X-Custom-Token"
    custom_pass_poll_interval: float = 30.0
    custom_pass_request_timeout: float = 15.0
    custom_pass_batch_size: int = Field(50, ge=1, le=1000)
    custom_pass_max_concurrent: int = Field(100, ge=1)
    custom_pass_task_max_lifetime: float = 3600.0
    task_submit_grace_s: float = Field(120.0, gt=0, description=(
        "A task not submitted upstream this long after creation can never be polled: it fails and is refunded."))
    custom_pass_status_success: str = "completed,success,finished"
    custom_pass_status_failed: str = "failed,error,cancelled,not_found"
    custom_pass_status_processing: str = "processing,pending,running,submitted,queued"
    custom_pass_status_queued: str = Field("", description=(
        "Upstream words for accepted but not started (QUEUED; the Task API's `pending`); they win over "
        "the processing words. Empty: every in-progress word means started."))
    upstream_busy_retries: int = Field(3, ge=0, le=10, description=(
        "Submits an upstream refuses as busy (RunningHub 415/421: instance or queue full) are retried this often."))
    upstream_busy_backoff_s: float = Field(0.5, ge=0, le=30, description=(
        "First wait before such a retry; it doubles each time, with jitter."))
