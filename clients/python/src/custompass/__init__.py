"""CustomPass: a Python SDK and CLI for the CustomPass gateway's async task APIs."""
from custompass.aio import AsyncClient
from custompass.client import Client
from custompass.errors import (ApiError, BadRequest, Conflict, CustomPassError, Forbidden, NotFound,
                               PaymentRequired, RateLimited, ServerError, StreamUnavailable, TransportError,
                               Unauthorized, UsageError, WaitTimeout)
from custompass.models import Model, ModelBilling, ModelList, Task, TaskEvent, TaskList, Wallet
from custompass.protocol import RetryPolicy

__all__ = ["ApiError", "AsyncClient", "BadRequest", "Client", "Conflict", "CustomPassError", "Forbidden",
           "Model", "ModelBilling", "ModelList", "NotFound", "PaymentRequired", "RateLimited", "RetryPolicy",
           "ServerError", "StreamUnavailable", "Task", "TaskEvent", "TaskList", "TransportError",
           "Unauthorized", "UsageError", "WaitTimeout", "Wallet"]
