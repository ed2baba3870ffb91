"""shared/mongo_metrics.py: what a command's reply says it wrote, the collection it names, and a
running service's /metrics counting the commands a request costs."""
from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared.mongo_metrics import collection_of, documents_written
from tests.harness.stack import Stack


def test_an_update_that_changes_nothing_wrote_nothing_and_an_upsert_wrote_one():
    assert documents_written("update", {"ok": 1, "n": 1, "nModified": 0}) == 0
    assert documents_written("update", {"ok": 1, "n": 1, "nModified": 0, "upserted": [{"index": 0, "_id": 9}]}) == 1
    assert documents_written("update", {"ok": 1, "n": 3, "nModified": 2}) == 2
    assert documents_written("insert", {"ok": 1, "n": 2}) == 2
    assert documents_written("delete", {"ok": 1, "n": 0}) == 0


def test_find_and_modify_counts_from_last_error_object_or_else_from_what_came_back():
    assert documents_written("findAndModify", {"ok": 1, "lastErrorObject": {"n": 1, "updatedExisting": True}}) == 1
    assert documents_written("findAndModify", {"ok": 1, "lastErrorObject": {"n": 0}, "value": None}) == 0
    # The nx-27017 stand-in leaves lastErrorObject out of its replies.
    assert documents_written("findAndModify", {"ok": 1, "value": {"_id": 2}}) == 1
    assert documents_written("findAndModify", {"ok": 1, "value": None}) == 0
    assert documents_written("findAndModify", {"ok": 1, "value": None}, upsert=True) == 1


def test_the_collection_is_the_command_value_or_the_get_more_collection():
    assert collection_of("find", {"find": "tasks", "filter": {}}) == "tasks"
    assert collection_of("getMore", {"getMore": 12345, "collection": "tasks"}) == "tasks"
    assert collection_of("aggregate", {"aggregate": 1, "pipeline": []}) == ""
    assert collection_of("ping", {"ping": 1}) == ""


async def _counted(http: httpx.AsyncClient, url: str) -> dict[tuple[str, str, str], float]:
    text = (await http.get(f"{url}/metrics")).text
    return {(s.name, s.labels.get("command", ""), s.labels.get("collection", "")): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name in ("custompass_mongo_commands_total", "custompass_mongo_documents_written_total")}


async def test_a_request_shows_as_mongo_commands_and_documents_on_the_gateways_metrics(stack: Stack):
    async with httpx.AsyncClient(timeout=10) as http:
        before = await _counted(http, stack.gateway_url)
        response = await http.post(f"{stack.gateway_url}/admin/users", json={"name": "counted", "quota": 0},
                                   headers={"Authorization": f"Bearer {stack.admin_token}"})
        assert response.status_code == 201, response.text
        after = await _counted(http, stack.gateway_url)

    def grew(key: tuple[str, str, str]) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew(("custompass_mongo_commands_total", "insert", "users")) >= 1
    assert grew(("custompass_mongo_documents_written_total", "", "users")) >= 1
