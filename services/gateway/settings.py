from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shared.result_storage.settings import ResultStorageSettings
from shared.settings import CommonSettings, CustomPassSettings
from shared.task_receipts import TaskReceiptSettings


class GatewaySettings(CommonSettings, CustomPassSettings, ResultStorageSettings, TaskReceiptSettings):
    gateway_port: int = 8080
    admin_token: str = Field("", validation_alias="CUSTOMPASS_ADMIN_TOKEN",
                                        description="Bearer token of the admin API.")
    hold_placement: Literal["gateway", "billing"] = Field("gateway", description=(
        "Who places holds: this gateway, through the ledger billing runs (no Kafka round trip on the "
        "way to the upstream), or billing, asked over Kafka (only billing then writes holds)."))
    hold_batch_max: int = Field(200, ge=1, description=(
        "HOLD_PLACEMENT=gateway: most holds written together; those arriving during a write wait for the next."))
    # A sent hold waits behind at most HOLD_MAX_IN_FLIGHT others, which a starved billing
    # (1.6 s per hold on a loaded 2-core machine) still answers within the reply timeout.
    hold_reply_timeout_s: float = Field(10.0, gt=0, description=(
        "How long a hold waits for its decision once asked: billing's answer, or its batch's write "
        "(HOLD_PLACEMENT=gateway); then 503 billing_unavailable."))
    hold_max_in_flight: int = Field(8, ge=1, description=(
        "HOLD_PLACEMENT=billing: hold requests one gateway has at billing at once; more wait for a turn (hold_queue)."))
    hold_queue_wait_s: float = Field(30.0, gt=0, description=(
        "HOLD_PLACEMENT=billing: how long a hold waits for a turn before the request answers 503 billing_unavailable."))
    # Input bounds (body_limits). A task document stores its request body, so /pass bodies stay
    # well under MongoDB's 16 MiB document limit; oversized documents are refused too (task_opening).
    request_body_max_bytes: int = Field(1 << 20, ge=1024, description=(
        "Largest request body on every route but /pass/..., in bytes (larger: 413 body_too_large)."))
    pass_body_max_bytes: int = Field(8 << 20, ge=1024, le=15 << 20, description=(
        "Largest request body on /pass/... (sync calls and async submits), in bytes; at most 15 MiB."))
    json_max_depth: int = Field(64, ge=2, le=1000, description=(
        "Deepest nesting of arrays and objects a JSON body may have (deeper: 400 json_too_deep)."))
    shutdown_drain_s: float = Field(20.0, ge=0, description=(
        "At shutdown, how long sync calls and streams in flight may take to finish."))
    channel_failure_threshold: int = Field(5, ge=0, description=(
        "Failures in a row after which a channel cools down (0: never); a channel's own setting wins."))
    channel_cooldown_s: float = Field(60.0, gt=0, description="How long a channel cools down.")
    webhook_tolerance_s: float = Field(300.0, gt=0, description=(
        "Signed webhooks older or newer than this (by their timestamp) are rejected as replays."))
    webhook_receipt_retention_s: float = Field(3 * 86_400, gt=0, description=(
        "How long a taken webhook delivery is remembered, so the provider's retries of it are ignored; "
        "keep it well above the providers' retry windows and WEBHOOK_TOLERANCE_S."))
    webhook_receipt_purge_interval_s: float = Field(3600.0, gt=0, description=(
        "How often a gateway deletes webhook receipts older than WEBHOOK_RECEIPT_RETENTION_S."))
    quota_per_usd: int = Field(500_000, gt=0, description="Quota units per 1 USD, for display.")
    reconciliation_max_period_days: float = Field(31.0, gt=0, le=366, description=(
        "Longest period one GET /admin/reconciliation may cover (longer: 400 invalid_period)."))
    # Worker dispatch (`POST /api/openai`, `WS /ws`): the seed's variables and defaults.
    task_timeout_ms: int = Field(60_000, gt=0, description="A worker task's timeout when the request names none.")
    max_task_timeout_ms: int = Field(600_000, gt=0, description="The longest timeout a request may ask for.")
    min_task_timeout_ms: int = Field(5_000, gt=0, description="The shortest timeout a request may ask for.")
    max_queue_length: int = Field(1000, ge=1, description="Queued tasks per worker group before 503 Queue is full.")
    task_result_ttl_ms: int = Field(300_000, gt=0, description=(
        "How long a finished worker task stays readable on GET /api/task/{taskId}."))
    dispatch_poll_s: float = Field(0.1, gt=0, description=(
        "How often a gateway looks for results finished on other instances while a sync caller waits."))
    dispatch_recheck_s: float = Field(5.0, ge=1.0, description=(
        "How often a gateway counts the dispatch queue (the depth gauge) and claims for work waiting "
        "there, in case a signal of work queued on another instance was missed; it also drops entries "
        "of tasks that ended."))
    worker_heartbeat_s: float = Field(5.0, gt=0, description="How often a gateway marks its workers as online.")
    worker_stale_s: float = Field(15.0, gt=0, description=(
        "A worker not marked online this long (its gateway died) no longer counts as available."))

    worker_token_recheck_s: float = Field(10.0, gt=0, le=60, description=(
        "How often a gateway re-reads the tokens of its open worker sockets. A token revoked (disabled "
        "or deleted) closes its sockets (4401) at once on the gateway that revoked it and, by a Kafka "
        "signal, within about a second on the others; this re-check is the bound should a signal be lost."))
    user_ref_secret: str = Field("", description=(
        "HMAC key turning a user id into the `user_ref` sent upstream by channels with caller_token "
        "user_ref: stable per user, never a credential. Required in production; changing it changes "
        "every user's ref."))

    # Task API (`/api/task/*`, seed 001).
    task_api_jwt_secret: str = Field("", description=(
        "HS256 secret of the JWTs the business's own site issues (`sub` = user id, `exp` required). "
        "Empty: only API keys are accepted."))
    task_api_service_token: str = Field("", description=(
        "Bearer token of internal services for PUT /api/task/{taskId}/status, beside the admin token."))
    input_image_url_max_length: int = Field(2048, ge=16, le=65_536, description="Longest inputImageUrl accepted.")
    callback_url_max_length: int = Field(2048, ge=16, le=4096, description="Longest callback_url accepted.")
    # Following tasks for clients (`Prefer: wait` on submits, `GET .../task/{id}/events`; task_watch).
    task_watch_poll_s: float = Field(0.5, gt=0, le=10, description=(
        "How often a gateway reads the tasks its waiting submits and event streams follow (one query "
        "for all of them, sent only while someone follows): the longest delay between a change and its news."))
    event_stream_keepalive_s: float = Field(15.0, gt=0, le=300, description=(
        "An idle event stream sends a `: keep-alive` comment this often."))
    event_streams_per_key: int = Field(8, ge=1, description=(
        "Event streams one API key (a JWT caller: its user) may hold open on one gateway; one more "
        "answers 429 too_many_streams."))

    @model_validator(mode="after")
    def _timeouts_in_order(self) -> "GatewaySettings":
        if not self.min_task_timeout_ms <= self.task_timeout_ms <= self.max_task_timeout_ms:
            raise ValueError("need MIN_TASK_TIMEOUT_MS <= TASK_TIMEOUT_MS <= MAX_TASK_TIMEOUT_MS")
        return self

    @model_validator(mode="after")
    def _refuse_weak_admin_token(self) -> "GatewaySettings":
        token = self.admin_token
        if not token:
            raise ValueError("CUSTOMPASS_ADMIN_TOKEN must be set")
        self.refuse_weak_secret("CUSTOMPASS_ADMIN_TOKEN", token)
        self.refuse_weak_secret("USER_REF_SECRET", self.user_ref_secret)
        return self
