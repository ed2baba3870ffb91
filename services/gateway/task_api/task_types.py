"""Task types: the products a business offers (`basic_clean`), each the name of a public model
plus a JSON Schema of its `params`, so users never see raw model names.

The schema is stored as JSON text: JSON Schema keywords (`$schema`, `$ref`) start with `$`,
which MongoDB refuses as field names."""
from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from referencing.exceptions import Unresolvable

from services.gateway.errors import ApiError, InvalidRequest
from services.gateway.task_api.schemas import MAX_PARAMS_BYTES
from shared.clock import stamp


class TaskTypeExists(Exception):
    pass


class TaskTypeRepository:
    def __init__(self, db: AsyncDatabase) -> None:
        self._types = db["task_types"]

    async def create(self, name: str, model: str, params_schema: dict[str, Any] | None) -> dict[str, Any]:
        doc = {"_id": name, "model": model, "params_schema": _stored(params_schema),
               "created_at": stamp(), "updated_at": stamp()}
        try:
            await self._types.insert_one(doc)
        except DuplicateKeyError:
            raise TaskTypeExists(name) from None
        return doc

    async def get(self, name: str) -> dict[str, Any] | None:
        return await self._types.find_one({"_id": name})

    async def list(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return await self._types.find().sort("_id", 1).skip(offset).limit(limit).to_list(limit)

    async def count(self) -> int:
        return await self._types.count_documents({})  # the products a business offers: a handful

    async def update(self, name: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        if "params_schema" in changes:
            changes = {**changes, "params_schema": _stored(changes["params_schema"])}
        return await self._types.find_one_and_update(
            {"_id": name}, {"$set": {**changes, "updated_at": stamp()}}, return_document=ReturnDocument.AFTER)


def params_schema(task_type: dict[str, Any]) -> dict[str, Any] | None:
    stored = task_type.get("params_schema")
    return json.loads(stored) if stored else None


def check_schema(schema: dict[str, Any] | None) -> None:
    if schema is None:
        return
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidRequest(f"params_schema is not a JSON Schema: {exc.message}", code="invalid_params_schema") \
            from None


def check_params(task_type: dict[str, Any], params: dict[str, Any]) -> str:
    """The params as JSON text (how a task stores them), once they fit the type's schema."""
    text = json.dumps(params, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode()) > MAX_PARAMS_BYTES:
        raise InvalidRequest(f"params may take at most {MAX_PARAMS_BYTES} bytes as JSON")
    schema = params_schema(task_type)
    if schema is not None:
        try:
            error = best_match(Draft202012Validator(schema).iter_errors(params))
        except Unresolvable as exc:  # a `$ref` to nowhere (remote ones are never fetched): the operator's to fix
            raise ApiError(f"task type {task_type['_id']} cannot check its params ({exc}); retry later",
                           code="task_type_misconfigured", status=503) from None
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path)
            raise InvalidRequest(f"params{'.' + where if where else ''}: {error.message}")
    return text


def _stored(schema: dict[str, Any] | None) -> str | None:
    check_schema(schema)
    return json.dumps(schema) if schema is not None else None
