"""Which provider serves which channel kind. A new provider is one module with a provider
object, listed here: async providers (`StatusProvider`) apart from sync ones (`SyncProvider`), so
the poller, the async submit and the webhook and cancel routes never take a sync channel's
kind for theirs, nor the sync call an async one's."""
from __future__ import annotations

from shared.providers.base import StatusProvider, SyncProvider

_PROVIDERS: dict[str, StatusProvider] = {}
_SYNC_PROVIDERS: dict[str, SyncProvider] = {}


def register(provider: StatusProvider) -> StatusProvider:
    _PROVIDERS[provider.kind] = provider
    return provider


def register_sync(provider: SyncProvider) -> SyncProvider:
    _SYNC_PROVIDERS[provider.kind] = provider
    return provider


def unregister(kind: str) -> None:
    _PROVIDERS.pop(kind, None)
    _SYNC_PROVIDERS.pop(kind, None)


def provider_for(kind: str) -> StatusProvider | None:
    return _PROVIDERS.get(kind)


def sync_provider_for(kind: str) -> SyncProvider | None:
    return _SYNC_PROVIDERS.get(kind)


def async_kinds() -> tuple[str, ...]:
    return tuple(_PROVIDERS)


def sync_kinds() -> tuple[str, ...]:
    return tuple(_SYNC_PROVIDERS)


def _register_builtin() -> None:
    from shared.providers import custompass_async, custompass_sync, replicate, runninghub

    register(custompass_async.CustomPassProvider())
    register(replicate.ReplicateProvider())
    register(runninghub.RunningHubProvider())
    register_sync(custompass_sync.CustomPassSyncProvider())


_register_builtin()
