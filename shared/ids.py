"""Identifiers. Money ids are derived from domain ids so every retry names the same operation."""
from __future__ import annotations

import secrets
import uuid


def new_task_id() -> str:
    return f"task_{secrets.token_hex(12)}"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def hold_id_for(task_id: str) -> str:
    return f"hold_{task_id}"


def topup_op_id(user_id: str, request_id: str) -> str:
    return f"topup:{user_id}:{request_id}"
