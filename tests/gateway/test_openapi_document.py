"""The gateway's OpenAPI document says who may call each route and how errors look."""
from __future__ import annotations

from tools.contracts.openapi import openapi_document


def test_the_document_declares_its_bearer_schemes_and_the_error_envelope():
    document = openapi_document()
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"AdminToken", "ApiKey", "TaskApiJwt", "WorkerToken"}
    assert all(scheme == {**scheme, "type": "http", "scheme": "bearer"} for scheme in schemes.values())
    assert document["components"]["schemas"]["ErrorEnvelope"]["required"] == ["code", "message"]

    paths = document["paths"]
    assert paths["/admin/users"]["post"]["security"] == [{"AdminToken": []}]
    assert paths["/api/task/{task_id}"]["get"]["security"] == [{"ApiKey": []}, {"TaskApiJwt": []}]
    assert paths["/pass/{model}/submit"]["post"]["security"] == [{"ApiKey": []}]
    assert "security" not in paths["/webhooks/{kind}/{channel_id}"]["post"]  # signed by the upstream instead
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for operations in paths.values():
        for operation in operations.values():
            assert operation["responses"]["default"]["content"]["application/json"]["schema"] == envelope
    assert not any(path in paths for path in ("/docs", "/redoc"))
