"""The seed's two products as example task types, created by `make run` (`tools/run_local.py`)
through the admin API like any other type; the demo channel serves their models."""
from __future__ import annotations

from typing import Any

EXAMPLE_TASK_TYPES: list[dict[str, Any]] = [
    {"type": "basic_clean", "model": "image-clean",
     "params_schema": {"type": "object", "additionalProperties": False, "properties": {
         "template": {"enum": ["all", "matting", "white_bg", "enhanced"]}}}},
    {"type": "model_pose12", "model": "model-pose12",
     "params_schema": {"type": "object", "additionalProperties": False, "properties": {
         "scene": {"enum": ["street", "studio", "indoor"]},
         "category": {"enum": ["shoes", "dress", "hoodie"]},
         "productDescription": {"type": "string", "maxLength": 500}}}},
]
