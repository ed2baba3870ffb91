"""docs/openapi.json and docs/asyncapi.json are what the code generates (`make contracts`)."""
from __future__ import annotations

import pytest

from shared import topics
from shared.events import EVENT_TYPES
from tools.contracts import DOCS, GENERATORS, generated


@pytest.fixture(scope="module")
def documents() -> dict[str, str]:
    return generated()


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_checked_in_contract_matches_the_code(documents, name):
    path = DOCS / name
    if not path.is_file() or path.read_text() != documents[name]:
        pytest.fail(f"docs/{name} differs from what the code generates: run `make contracts` and commit it",
                    pytrace=False)


def test_asyncapi_has_a_channel_per_topic_and_a_message_per_event():
    from tools.contracts.asyncapi import asyncapi_document
    document = asyncapi_document()
    assert set(document["channels"]) == set(topics.ALL_TOPICS)
    assert set(document["components"]["messages"]) == {e.__name__ for e in EVENT_TYPES}
    for operation in document["operations"].values():
        assert operation["channel"]["$ref"].removeprefix("#/channels/") in document["channels"]


def test_openapi_documents_the_admin_and_client_apis(documents):
    import json
    paths = json.loads(documents["openapi.json"])["paths"]
    assert "/admin/users" in paths and "/pass/{model}/submit" in paths
