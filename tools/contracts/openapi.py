"""The gateway's OpenAPI document, from the FastAPI app itself (creating the app connects
nothing; only its lifespan does)."""
from __future__ import annotations

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

# Placeholder values: none of them appears in the document, and the document must not depend
# on the environment of whoever generates it.
_SETTINGS = {"CUSTOMPASS_ADMIN_TOKEN": "contract-generation-placeholder-token", "CUSTOMPASS_ENV": "development"}


def openapi_document() -> dict:
    return create_app(GatewaySettings(**_SETTINGS)).openapi()
