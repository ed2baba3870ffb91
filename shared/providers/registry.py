"""Which provider serves which channel kind. A new provider is one module with a provider
object, listed here."""
from __future__ import annotations

from shared.providers.base import StatusProvider

_PROVIDERS: dict[str, StatusProvider] = {}


def register(provider: StatusProvider) -> StatusProvider:
    _PROVIDERS[provider.kind] = provider
    return provider


def unregister(kind: str) -> None:
    _PROVIDERS.pop(kind, None)


def provider_for(kind: str) -> StatusProvider | None:
    return _PROVIDERS.get(kind)


def async_kinds() -> tuple[str, ...]:
    return tuple(_PROVIDERS)


def _register_builtin() -> None:
    from shared.providers import custompass_async, replicate, runninghub

    register(custompass_async.CustomPassProvider())
    register(replicate.ReplicateProvider())
    register(runninghub.RunningHubProvider())


_register_builtin()
