"""What an API key (and its user, for all their keys together) may do: which models, how many
requests per minute, how many tasks in flight, and how much of the user's quota the key may spend.

Every client path that opens billable work calls `KeyPolicies.admit` first, and hands the
`Admission` to `task_opening.TaskOpener.store_and_hold`, which takes the in-flight slots and asks billing
for a hold within the key's quota limit. A refusal at any step places no hold and leaves no task.
Expiry and enable/disable are checked at authentication (`deps.current_caller`), on every call.

Limits are read from the key and user documents on every request, so an admin's change applies
on every gateway instance at once; the counters live in MongoDB (`rate_limit`, `in_flight`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.gateway.errors import ApiError, Forbidden
from services.gateway.in_flight import InFlightSlots
from services.gateway.rate_limit import RateLimiter, WindowState

from shared.channels import SUBMIT_SUFFIX
# The limits both a key and a user may set; `quota_limit` and `expires_at` are the key's alone.
SHARED_LIMITS = ("requests_per_minute", "max_in_flight", "models")


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class TooManyInFlight(ApiError):
    status, code = 429, "too_many_in_flight"


@dataclass(frozen=True)
class Scope:
    """Who a limit counts against: one key, or a user across all their keys."""
    kind: str  # "key" | "user"
    id: str
    limits: dict[str, Any]

    @property
    def counter(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def name(self) -> str:
        return "API key" if self.kind == "key" else "user"

    def limit(self, field: str) -> Any:
        return self.limits.get(field)


@dataclass(frozen=True)
class Admission:
    """A request that passed the model and rate checks; made only by `KeyPolicies.admit`."""
    scopes: tuple[Scope, ...]
    key_id: str | None
    quota_limit: int | None


def scopes_of(key: dict[str, Any], user: dict[str, Any]) -> tuple[Scope, Scope]:
    return (Scope("key", key["_id"], key), Scope("user", user["_id"], user))


def caller_scopes(key: dict[str, Any] | None, user: dict[str, Any]) -> tuple[Scope, ...]:
    """A caller without an API key (a Task API JWT) is limited by its user's limits alone."""
    return scopes_of(key, user) if key is not None else (Scope("user", user["_id"], user),)


def model_allowed(allowed: list[str] | None, model: str) -> bool:
    """An empty or missing allow-list allows every model; async names match with or without `/submit`."""
    bare = model.removesuffix(SUBMIT_SUFFIX)
    return not allowed or bare in {name.removesuffix(SUBMIT_SUFFIX) for name in allowed}


class KeyPolicies:
    def __init__(self, db: AsyncDatabase) -> None:
        self.rates = RateLimiter(db)
        self.slots = InFlightSlots(db)

    async def admit(self, key: dict[str, Any] | None, user: dict[str, Any], model: str) -> Admission:
        """Checks the allow-lists, then counts the request against each requests-per-minute limit."""
        scopes = caller_scopes(key, user)
        for scope in scopes:
            if not model_allowed(scope.limit("models"), model):
                raise Forbidden(f"this {scope.name} may not use model {model}", code="model_not_allowed")
        for scope in scopes:
            rpm = scope.limit("requests_per_minute")
            if rpm is not None:
                full = await self.rates.admit(scope.counter, rpm)
                if full is not None:
                    raise _rate_limited(scope, full)
        return Admission(scopes, key["_id"] if key else None, key.get("quota_limit") if key else None)

    async def occupy(self, admission: Admission, task_id: str) -> None:
        """Takes a slot for the task in every scope that caps tasks in flight, or none at all."""
        taken: list[Scope] = []
        for scope in admission.scopes:
            cap = scope.limit("max_in_flight")
            if cap is None:
                continue
            if not await self.slots.take(scope.counter, task_id, cap):
                await self.vacate(admission, task_id, taken)
                raise TooManyInFlight(f"this {scope.name} already has {cap} tasks in flight; retry when one ends")
            taken.append(scope)

    async def vacate(self, admission: Admission, task_id: str, scopes: list[Scope] | None = None) -> None:
        """Gives back the slots of a task that was never opened."""
        for scope in admission.scopes if scopes is None else scopes:
            if scope.limit("max_in_flight") is not None:
                await self.slots.give_back(scope.counter, task_id)


def _rate_limited(scope: Scope, window: WindowState) -> RateLimited:
    return RateLimited(f"this {scope.name} may make {window.limit} requests per minute; retry in "
                       f"{window.retry_after_s} s", headers={"Retry-After": str(window.retry_after_s)})
