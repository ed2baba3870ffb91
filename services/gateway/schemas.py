"""Request and response models of the gateway API: `XCreate` / `XUpdate` in, `XPublic` out, so
stored fields (key hashes, channel secrets) never leak into responses."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from shared.late_results import LatePolicy
from shared.upstream.caller_token import CallerTokenChoice

Strict = ConfigDict(extra="forbid")

# Money is integers only (no floats, booleans or numeric strings), and bounded far inside int64
# so neither one amount nor a wallet's running sums can overflow in MongoDB or in billing.
MAX_QUOTA = 10**15
Quota = Annotated[int, Field(strict=True, ge=0, le=MAX_QUOTA)]
# No control characters, and no leading `$`: a model name is also a key of `model_mapping`, and
# MongoDB refuses field names with NUL or a leading `$` (found by the API fuzzing: a 500).
ModelName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f$][^\x00-\x1f]*$")]
GroupName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                                 description="A user group; `default` (price ratio 1) unless set.")]
PriceRatio = Annotated[Decimal, Field(gt=0, le=100, max_digits=12, decimal_places=6, description=(
    "Multiplies every hold and cost of the group's users (0.8: 20% off); results round up to whole quota."))]


def _utc(moment: datetime | None) -> datetime | None:
    """Naive times are UTC; times that leave datetime's range once in UTC cannot be stored."""
    if moment is None:
        return None
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("date is out of range") from exc


def _refuse_nulls(model: BaseModel, fields: tuple[str, ...]) -> None:
    """In a partial update, an omitted field is kept but an explicit null would erase a field
    that every stored document must have."""
    nulls = [f for f in fields if f in model.model_fields_set and getattr(model, f) is None]
    if nulls:
        raise ValueError(f"{', '.join(nulls)} cannot be null")


class Limits(BaseModel):
    """Limits a user sets for all their keys together, or a key for itself; null: no limit."""
    model_config = Strict
    requests_per_minute: int | None = Field(None, ge=1, le=1_000_000, description=(
        "Requests that open billable work, per 60 s window; over it: 429 rate_limited with Retry-After."))
    max_in_flight: int | None = Field(None, ge=1, le=100_000, description=(
        "Tasks opened and not yet terminal; over it: 429 too_many_in_flight."))
    models: list[ModelName] | None = Field(None, max_length=1000, description=(
        "The models allowed; empty or null: all; another model: 403 model_not_allowed."))


class KeyDefaults(Limits):
    """A user group's default limits for its users' keys; a key's own setting wins."""
    quota_limit: Quota | None = Field(None, description=(
        "Most this key may spend of its user's quota (held + used); over it: 402 key_quota_exceeded."))


class KeyLimits(KeyDefaults):
    expires_at: datetime | None = Field(None, description="After this time the key answers 401 key_expired.")

    _expires_at_utc = field_validator("expires_at")(_utc)


class UserCreate(Limits):
    name: str = Field(min_length=1, max_length=200)
    member_until: datetime | None = Field(None, description="Member until this time; null: no membership required.")
    quota: Quota = Field(0, description="Initial quota credited to the wallet.")
    group: GroupName = "default"

    _member_until_utc = field_validator("member_until")(_utc)


class UserUpdate(Limits):
    name: str | None = Field(None, min_length=1, max_length=200)
    member_until: datetime | None = None
    status: Literal["active", "disabled"] | None = None
    group: GroupName | None = None

    _member_until_utc = field_validator("member_until")(_utc)

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> "UserUpdate":
        _refuse_nulls(self, ("name", "status", "group"))
        return self


class LimitsPublic(BaseModel):
    requests_per_minute: int | None = None
    max_in_flight: int | None = None
    models: list[str] | None = None


class UserPublic(LimitsPublic):
    id: str
    name: str
    member_until: datetime | None
    status: str
    group: str = "default"
    created_at: str | None = None


class GroupCreate(BaseModel):
    model_config = Strict
    name: GroupName
    price_ratio: PriceRatio = Decimal(1)
    description: str | None = Field(None, max_length=500)
    key_defaults: KeyDefaults | None = Field(None, description=(
        "Limits the keys of the group's users inherit where the key sets none of its own."))


class GroupUpdate(BaseModel):
    model_config = Strict
    price_ratio: PriceRatio | None = None
    description: str | None = Field(None, max_length=500)
    key_defaults: KeyDefaults | None = None

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> "GroupUpdate":
        _refuse_nulls(self, ("price_ratio",))
        return self


class GroupPublic(BaseModel):
    name: str
    price_ratio: float
    description: str | None = None
    key_defaults: dict[str, Any] | None = None


class ApiKeyCreate(KeyLimits):
    name: str = Field(min_length=1, max_length=200)


class ApiKeyCreated(BaseModel):
    id: str
    key: str = Field(description="The secret; shown once, only its hash is stored.")


class ApiKeyUpdate(KeyLimits):
    """Omitted fields are kept; null clears a limit."""
    name: str | None = Field(None, min_length=1, max_length=200)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> "ApiKeyUpdate":
        _refuse_nulls(self, ("name", "enabled"))
        return self


class ApiKeyPublic(LimitsPublic):
    id: str
    name: str
    enabled: bool
    quota_limit: int | None = None
    expires_at: datetime | None = None
    created_at: str | None = None
    archived_at: str | None = Field(None, description=(
        "Set by DELETE: the key no longer authenticates; its id stays on its tasks and logs."))


class WindowPublic(BaseModel):
    limit: int
    left: int
    resets_in_s: float


class ScopeUsage(BaseModel):
    """One scope's limits (null: none) and what is left of them now."""
    requests_per_minute: WindowPublic | None
    max_in_flight: int | None
    in_flight: int | None = Field(description="Tasks in flight; counted only where max_in_flight is set.")
    models: list[str] | None


class KeyUsagePublic(BaseModel):
    id: str
    name: str
    expires_at: datetime | None
    quota_limit: int | None
    quota_spent: int = Field(description="Held + used by this key.")
    quota_left: int | None = Field(description="Of quota_limit; the wallet may hold less.")
    key: ScopeUsage
    user: ScopeUsage = Field(description="Limits of all the user's keys together.")


class TopupRequest(BaseModel):
    model_config = Strict
    amount: Quota = Field(gt=0)
    request_id: str = Field(min_length=1, max_length=200, description="Repeating it credits once.")


class WalletInUsd(BaseModel):
    """The same amounts in US dollars, as exact decimal strings rounded to 6 places (display only:
    money moves in whole quota units)."""
    quota_per_usd: int
    available: str
    held: str
    used: str
    credited: str
    debt: str


class WalletPublic(BaseModel):
    available: int
    held: int
    used: int
    credited: int
    debt: int = 0
    usd: WalletInUsd | None = Field(None, description="The amounts at QUOTA_PER_USD quota units per 1 USD.")


ChannelKind = Literal["custompass_async", "custompass_sync", "replicate", "runninghub", "worker"]


BillingMode = Literal["free", "per_call", "per_usage"]


class ChannelBilling(BaseModel):
    """Explicit terms: `mode` always, `price` unless free (a missing price used to make a channel free)."""
    model_config = Strict
    mode: BillingMode
    price: Quota = Field(0, description=(
        "per_call: quota per call; per_usage: quota per 1,000 usage units; required unless mode is free."))
    precharge: Quota | None = Field(None, description="Quota held at submit; default: price (per_call) or 0.")
    usage_field: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                    description="per_usage: the usage field counted (e.g. seconds); "
                                                "default total_tokens, or input + output tokens when reported.")

    @model_validator(mode="after")
    def _priced_unless_free(self) -> "ChannelBilling":
        if self.mode != "free" and "price" not in self.model_fields_set:
            raise ValueError(f"a {self.mode} channel needs a price (use mode free for no charge)")
        return self


class ChannelBillingPublic(BaseModel):
    """The stored terms as they are (channels stored before prices were required included)."""
    mode: BillingMode = "per_call"
    price: int = 0
    precharge: int | None = None
    usage_field: str | None = None


class StatusWords(BaseModel):
    model_config = Strict
    success: list[str] | None = None
    failed: list[str] | None = None
    processing: list[str] | None = None
    queued: list[str] | None = Field(None, description="Accepted but not started (the Task API's pending).")


class UpstreamCostUnit(BaseModel):
    """The unit an upstream reports its costs in and what one of it is worth in our quota."""
    model_config = Strict
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,15}$", description="e.g. USD, CNY, credits.")
    quota_per_unit: Decimal = Field(gt=0, le=10**12, max_digits=24, decimal_places=9, description=(
        "Quota units one upstream unit is worth (USD at QUOTA_PER_USD 500000: 500000)."))


class MarginBand(BaseModel):
    """The expected ratio of our charge to the upstream's cost (both in quota) of one task."""
    model_config = Strict
    min: Decimal = Field(ge=0, le=10**6, max_digits=16, decimal_places=6)
    max: Decimal = Field(gt=0, le=10**6, max_digits=16, decimal_places=6)

    @model_validator(mode="after")
    def _ordered(self) -> "MarginBand":
        if self.min > self.max:
            raise ValueError("expected_margin_band needs min <= max")
        return self


class ChannelFields(BaseModel):
    model_config = Strict
    base_url: HttpUrl | None = None
    api_key: str | None = Field(None, max_length=4000)
    models: list[ModelName] | None = None
    billing: ChannelBilling | None = None
    timeout_s: float | None = Field(None, gt=0, le=3600)
    enabled: bool | None = None
    token_header: str | None = Field(None, min_length=1, max_length=100,
                                     description="Header carrying the caller's token upstream.")
    caller_token: CallerTokenChoice | None = Field(None, description=(
        "custompass channels: what token_header carries upstream. user_ref (the default): a stable, "
        "non-secret per-user reference (HMAC of the user id); key: the caller's own API key, which the "
        "upstream could replay against us; none: no header."))
    upstream_precharge: bool | None = Field(None, description="Price holds by the upstream's precharge answer.")
    poll_interval_s: float | None = Field(None, gt=0, le=3600)
    task_lifetime_s: float | None = Field(None, gt=0, le=30 * 86400)
    batch_size: int | None = Field(None, ge=1, le=1000)
    max_concurrent: int | None = Field(None, ge=1, le=100_000)
    status_words: StatusWords | None = None
    group: str | None = Field(None, description="Worker group (kind worker).")
    priority: int | None = Field(None, ge=-1000, le=1000, description="Higher is tried first (default 0).")
    weight: int | None = Field(None, ge=0, le=10_000, description=(
        "Share of traffic among channels of one priority (default 1); 0: a spare, tried last."))
    model_mapping: dict[ModelName, ModelName] | None = Field(None, description=(
        "Public model name -> the name the upstream knows it by."))
    failure_threshold: int | None = Field(None, ge=0, le=1000, description=(
        "Failures in a row that start a cool-down (default CHANNEL_FAILURE_THRESHOLD; 0: never)."))
    cooldown_s: float | None = Field(None, gt=0, le=86_400, description=(
        "How long a failing channel is left out (default CHANNEL_COOLDOWN_S)."))
    webhook_secret: str | None = Field(None, min_length=1, max_length=500, description=(
        "replicate: the whsec_ secret its webhooks are signed with (GET /v1/webhooks/default/secret)."))
    max_requests_per_s: float | None = Field(None, gt=0, le=100_000, description=(
        "Most status queries per second the poller sends this channel's upstream (per poller process); "
        "null: no limit."))
    result_storage: Literal["none", "local", "s3"] | None = Field(None, description=(
        "Copy a successful result's files to our storage and rewrite their URLs (default none)."))
    upstream_cost_unit: UpstreamCostUnit | None = Field(None, description=(
        "What the upstream's cost figures are counted in; null: quota units."))
    upstream_cost_per_second: Decimal | None = Field(None, ge=0, le=10**6, max_digits=24, decimal_places=12,
                                                     description=(
        "replicate, runninghub: the upstream's cost of one second of run time, in upstream_cost_unit "
        "(a Replicate task costs metrics.predict_time x this)."))
    expected_margin_band: MarginBand | None = Field(None, description=(
        "Reconciliation lists the tasks whose charged / upstream cost is outside [min, max]."))
    max_charge: int | None = Field(None, ge=0, le=10**15, description=(
        "Settlement guardrail: a task whose final cost is above this many quota units (and above its "
        "hold) is charged its hold only and flagged for review; null: no bound."))
    max_charge_multiple: Decimal | None = Field(None, gt=1, le=10**6, max_digits=16, decimal_places=6, description=(
        "Settlement guardrail: a final cost above this multiple of the task's hold is charged the hold "
        "only and flagged for review (GET /admin/reviews); null: no bound."))
    late_result: LatePolicy | None = Field(None, description=(
        "A task failed on timeout (refunded) that the upstream finishes later: drop (the default) "
        "records it for the operator only; deliver_free also shows it in the owner's task views, uncharged."))
    late_watch_s: float | None = Field(None, ge=0, le=30 * 86400, description=(
        "How long after a timeout the poller still asks the upstream about the task (default "
        "LATE_WATCH_S, 1800; 0: not at all)."))


class ChannelCreate(ChannelFields):
    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    base_url: HttpUrl | None = None
    models: list[ModelName] = Field(min_length=1)
    billing: ChannelBilling = Field(description=(
        "Required, so no channel is free by omission: {\"mode\": \"free\"} for no charge."))
    timeout_s: float = Field(15.0, gt=0, le=3600)
    enabled: bool = True


class ChannelUpdate(ChannelFields):
    name: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> "ChannelUpdate":
        _refuse_nulls(self, ("name", "models", "billing", "timeout_s", "enabled"))
        return self


class ChannelPublic(BaseModel):
    id: str
    name: str
    kind: str
    base_url: str | None
    api_key_set: bool
    webhook_secret_set: bool = False
    models: list[str]
    billing: ChannelBillingPublic
    timeout_s: float
    enabled: bool
    token_header: str | None = None
    caller_token: CallerTokenChoice | None = None
    upstream_precharge: bool | None = None
    poll_interval_s: float | None = None
    task_lifetime_s: float | None = None
    batch_size: int | None = None
    max_concurrent: int | None = None
    status_words: StatusWords | None = None
    group: str | None = None
    priority: int | None = None
    weight: int | None = None
    model_mapping: dict[str, str] | None = None
    failure_threshold: int | None = None
    cooldown_s: float | None = None
    max_requests_per_s: float | None = None
    result_storage: Literal["none", "local", "s3"] | None = None
    upstream_cost_unit: UpstreamCostUnit | None = None
    upstream_cost_per_second: Decimal | None = None
    expected_margin_band: MarginBand | None = None
    max_charge: int | None = None
    max_charge_multiple: Decimal | None = None
    late_result: LatePolicy | None = None
    late_watch_s: float | None = None
    consecutive_failures: int = 0
    cooldown_until: str | None = Field(None, description="Left out of selection until then, after repeated failures.")
    archived_at: str | None = Field(None, description=(
        "Set by DELETE: the channel serves nothing and is listed only with include_archived=true."))


class ModelPublic(BaseModel):
    """One model a caller may use (`GET /api/models`), priced for the caller's group."""
    id: str = Field(description="The public model name, without `/submit`.")
    object: Literal["model"] = "model"
    mode: Literal["sync", "async", "dispatch"] = Field(description=(
        "sync: POST /pass/{id}; async: POST /pass/{id}/submit then fetch; dispatch: POST /api/openai."))
    endpoint: str = Field(description="The call that uses it, e.g. `POST /pass/video-x/submit`.")
    group: str | None = Field(None, description="dispatch: the worker group to name in the request.")
    billing: ChannelBillingPublic = Field(description=(
        "The list terms of the channel tried first (highest priority, then oldest)."))
    price_ratio: str = Field(description="The caller's group ratio, applied to every hold and cost.")
    price: str = Field(description=(
        "billing.price x price_ratio, exact (per call, or per 1,000 usage units); a cost rounds up once."))
    hold: int = Field(description="Quota held when a call is opened (before any upstream precharge answer).")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    group: str
    data: list[ModelPublic]


class DispatchRequest(BaseModel):
    """`POST /api/openai` (seed 003); unknown fields are ignored, as OpenAI clients send many."""
    model_config = ConfigDict(populate_by_name=True)
    data: dict[str, Any] | None = Field(None, description="The task's data; this or messages is required.")
    messages: list[Any] | None = Field(None, description="OpenAI-style messages; this or data is required.")
    model: ModelName = "default"
    group: str = Field("default", min_length=1, max_length=200, description="The worker group.")
    timeout: int | None = Field(None, description=(
        "Milliseconds, MIN_TASK_TIMEOUT_MS..MAX_TASK_TIMEOUT_MS (5000-600000); default TASK_TIMEOUT_MS (60000)."))
    run_async: bool = Field(False, alias="async", description="true: answer at once with the taskId.")
    callback_url: str | None = Field(None, description=(
        "http or https, to a public host: the task's signed webhooks are POSTed there (docs/client-api.md)."))
    callback_events: list[str] | None = Field(None, description=(
        "Which webhooks: start (queued), completed (default: completed only); needs callback_url."))


class WorkerTokenCreate(BaseModel):
    model_config = Strict
    group: str = Field(min_length=1, max_length=200)


class WorkerTokenCreated(BaseModel):
    id: str
    token: str = Field(description="The secret; shown once, only its hash is stored.")


class WorkerTokenUpdate(BaseModel):
    model_config = Strict
    enabled: bool


class WorkerTokenPublic(BaseModel):
    id: str
    group: str
    enabled: bool
    created_at: str
