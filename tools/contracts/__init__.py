"""The published contracts, generated from code: the gateway's OpenAPI document and an AsyncAPI
document of the Kafka events. `python -m tools.contracts` (or `make contracts`) writes them into
docs/; tests/contracts fails when the checked-in copies drift from what the code generates."""
from __future__ import annotations

import json
from pathlib import Path

from tools.contracts.asyncapi import asyncapi_document
from tools.contracts.openapi import openapi_document

DOCS = Path(__file__).resolve().parents[2] / "docs"
GENERATORS = {"openapi.json": openapi_document, "asyncapi.json": asyncapi_document}


def render(document: dict) -> str:
    """Stable text: the same code always gives the same bytes, so a diff means a contract changed."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generated() -> dict[str, str]:
    return {name: render(build()) for name, build in GENERATORS.items()}
