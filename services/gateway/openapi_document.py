"""What FastAPI cannot infer for the gateway's OpenAPI document: who may call each route (its
bearer scheme) and the shape of every error answer, the `{code, message}` envelope (errors.py;
the Task API's routes add `success: false` and number their codes, task_api/errors.py).

Routes authenticate in their dependencies by reading the `Authorization` header themselves, so
the schemes are declared here by path family rather than through FastAPI security classes."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

SCHEMES = {
    "AdminToken": "The operator's CUSTOMPASS_ADMIN_TOKEN (the admin API; also TASK_API_SERVICE_TOKEN on "
                  "PUT /api/task/{taskId}/status).",
    "ApiKey": "A user's API key (`cp-...`), from POST /admin/users/{id}/api-keys.",
    "TaskApiJwt": "An HS256 JWT the business's own site issued for one of its users (`sub` = user id, "
                  "`exp` required), signed with TASK_API_JWT_SECRET.",
    "WorkerToken": "A worker group's token, from POST /admin/worker-tokens: the WebSocket `GET /ws?group=`.",
}
ERROR_ENVELOPE = {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"anyOf": [{"type": "string"}, {"type": "integer"}],
                            "description": "A stable string (`task_not_found`), or the Task API's number (4004)."},
                   "message": {"type": "string"}},
}
ERROR_ANSWER = {"description": "An error, in the error envelope",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/metrics", "/webhooks", "/results")


def security_of(path: str) -> list[dict[str, list]]:
    if path.startswith("/admin") or path.endswith("/status") and path.startswith("/api/task/"):
        return [{"AdminToken": []}]
    if path.startswith("/api/task"):
        return [{"ApiKey": []}, {"TaskApiJwt": []}]
    if path.startswith(PUBLIC_PREFIXES):
        return []
    return [{"ApiKey": []}]


def with_auth_and_errors(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    components["securitySchemes"] = {name: {"type": "http", "scheme": "bearer", "description": text}
                                     for name, text in SCHEMES.items()}
    components.setdefault("schemas", {})["ErrorEnvelope"] = ERROR_ENVELOPE
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if security := security_of(path):
                operation.setdefault("security", security)
            answers = operation.setdefault("responses", {})
            answers.setdefault("default", ERROR_ANSWER)
            if "422" in answers:  # the gateway answers validation errors in the envelope too
                answers["422"] = {**ERROR_ANSWER, "description": "Invalid request"}
    return document


def install_openapi_document(app: FastAPI) -> None:
    generate = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_auth_and_errors(generate())
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
