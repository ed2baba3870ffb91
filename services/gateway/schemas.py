"""Request and response models of the gateway API: `XCreate` / `XUpdate` in, `XPublic` out, so
stored fields (key hashes, channel secrets) never leak into responses."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

Strict = ConfigDict(extra="forbid")


class UserCreate(BaseModel):
    model_config = Strict
    name: str = Field(min_length=1, max_length=200)
    member_until: datetime | None = Field(None, description="Member until this time; null: no membership required.")
    quota: int = Field(0, ge=0, description="Initial quota credited to the wallet.")


class UserUpdate(BaseModel):
    model_config = Strict
    name: str | None = Field(None, min_length=1, max_length=200)
    member_until: datetime | None = None
    status: Literal["active", "disabled"] | None = None


class UserPublic(BaseModel):
    id: str
    name: str
    member_until: datetime | None
    status: str


class ApiKeyCreate(BaseModel):
    model_config = Strict
    name: str = Field(min_length=1, max_length=200)


class ApiKeyCreated(BaseModel):
    id: str
    key: str = Field(description="The secret; shown once, only its hash is stored.")


class ApiKeyUpdate(BaseModel):
    model_config = Strict
    enabled: bool


class TopupRequest(BaseModel):
    model_config = Strict
    amount: int = Field(gt=0)
    request_id: str = Field(min_length=1, max_length=200, description="Repeating it credits once.")


class WalletPublic(BaseModel):
    available: int
    held: int
    used: int
    credited: int
    debt: int = 0


ChannelKind = Literal["custompass_async", "custompass_sync", "replicate", "runninghub", "worker"]


class ChannelBilling(BaseModel):
    model_config = Strict
    mode: Literal["free", "per_call", "per_usage"] = "per_call"
    price: int = Field(0, ge=0, description="per_call: quota per call; per_usage: quota per 1,000 usage units.")
    precharge: int | None = Field(None, ge=0, description="Quota held at submit; default: price (per_call) or 0.")


class StatusWords(BaseModel):
    model_config = Strict
    success: list[str] | None = None
    failed: list[str] | None = None
    processing: list[str] | None = None


class ChannelFields(BaseModel):
    model_config = Strict
    base_url: HttpUrl | None = None
    api_key: str | None = Field(None, max_length=4000)
    models: list[str] | None = None
    billing: ChannelBilling | None = None
    timeout_s: float | None = Field(None, gt=0, le=3600)
    enabled: bool | None = None
    token_header: str | None = Field(None, min_length=1, max_length=100,
                                     description="Header carrying the caller's token upstream.")
    upstream_precharge: bool | None = Field(None, description="Price holds by the upstream's precharge answer.")
    poll_interval_s: float | None = Field(None, gt=0, le=3600)
    task_lifetime_s: float | None = Field(None, gt=0)
    batch_size: int | None = Field(None, ge=1, le=1000)
    max_concurrent: int | None = Field(None, ge=1)
    status_words: StatusWords | None = None
    group: str | None = Field(None, description="Worker group (kind worker).")


class ChannelCreate(ChannelFields):
    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    base_url: HttpUrl | None = None
    models: list[str] = Field(min_length=1)
    billing: ChannelBilling = ChannelBilling()
    timeout_s: float = Field(15.0, gt=0, le=3600)
    enabled: bool = True


class ChannelUpdate(ChannelFields):
    name: str | None = Field(None, min_length=1, max_length=200)


class ChannelPublic(BaseModel):
    id: str
    name: str
    kind: str
    base_url: str | None
    api_key_set: bool
    models: list[str]
    billing: ChannelBilling
    timeout_s: float
    enabled: bool
    token_header: str | None = None
    upstream_precharge: bool | None = None
    poll_interval_s: float | None = None
    task_lifetime_s: float | None = None
    batch_size: int | None = None
    max_concurrent: int | None = None
    status_words: StatusWords | None = None
    group: str | None = None
