"""The gateway's OpenAPI document, from the FastAPI app itself (creating the app connects
nothing; only its lifespan does)."""
from __future__ import annotations

from fastapi import FastAPI

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings

# Placeholder values: none of them appears in the document, and the document must not depend
# on the environment of whoever generates it.
_SETTINGS = {"CUSTOMPASS_ADMIN_TOKEN": "contract-generation-placeholder-token", "CUSTOMPASS_ENV": "development"}


def gateway_app() -> FastAPI:
    """The gateway's app as the contracts see it: its routes, not started."""
    return create_app(GatewaySettings(**_SETTINGS))


def openapi_document() -> dict:
    return gateway_app().openapi()
