"""Request and response models of the Task API and of its admin routes (task types)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.gateway.schemas import ModelName

TaskTypeName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="e.g. basic_clean")]
TaskApiStatus = Literal["pending", "processing", "success", "failed"]
MAX_PARAMS_BYTES = 16_384


class TaskTypeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: TaskTypeName
    model: ModelName = Field(description="The public model whose channels price and serve the type.")
    params_schema: dict[str, Any] | None = Field(None, description="JSON Schema of `params`; null: any object.")


class TaskTypeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: ModelName | None = None
    params_schema: dict[str, Any] | None = None


class TaskTypePublic(BaseModel):
    type: str
    model: str
    params_schema: dict[str, Any] | None


class TaskCreate(BaseModel):
    type: str = Field(min_length=1, max_length=64)
    inputImageUrl: str = Field(min_length=1, description="http or https, to a public host (see INPUT_IMAGE_URL_*).")
    params: dict[str, Any] = Field(default_factory=dict, description="Checked against the type's params_schema.")
    callback_url: str | None = Field(None, description=(
        "http or https, to a public host: the task's signed webhooks are POSTed there (docs/client-api.md)."))
    callback_events: list[str] | None = Field(None, description=(
        "Which webhooks: any of start, progress, completed (default completed only); needs callback_url."))


class StatusUpdate(BaseModel):
    status: TaskApiStatus
    resultUrls: list[Annotated[str, Field(max_length=4096)]] | None = Field(None, max_length=100)
    errorMessage: str | None = Field(None, max_length=2000)
