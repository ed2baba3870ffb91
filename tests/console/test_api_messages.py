"""services/gateway/console/api_messages.py: what the admin API answers a console form reads in the
page's language: in Chinese by its stable code or validation type, the API's exact English beside it;
in English as the API says it."""
from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, Field, ValidationError

from services.gateway.console.api_messages import BY_CODE, BY_TYPE, error_messages
from services.gateway.console.i18n import ZH
from services.gateway.errors import Conflict


class Form(BaseModel):
    price_ratio: float = Field(gt=0)
    name: str = Field(min_length=3)


def _invalid(**fields) -> ValidationError:
    try:
        Form(**fields)
    except ValidationError as exc:
        return exc
    raise AssertionError("valid")


def test_an_api_error_reads_by_its_code_with_the_api_message_beside_it():
    exc = Conflict("group vip exists already", code="group_exists")
    assert error_messages(exc, "en") == ["group vip exists already"]
    assert error_messages(exc, "zh") == ["分组已存在（group vip exists already）"]


def test_validation_errors_read_by_their_type_with_the_limits_filled_in():
    exc = _invalid(price_ratio=0, name="ab")
    assert error_messages(exc, "en") == ["price_ratio: Input should be greater than 0",
                                         "name: String should have at least 3 characters"]
    assert error_messages(exc, "zh") == ["price_ratio：必须大于 0（price_ratio: Input should be greater than 0）",
                                         "name：太短（至少 3 个字符）（name: String should have at least 3 characters）"]


def test_an_unknown_code_or_type_keeps_the_english_alone():
    assert error_messages(Conflict("odd", code="never_seen"), "zh") == ["odd"]


def test_every_phrase_is_chinese_and_none_is_a_console_phrase_twice():
    for phrase in (*BY_CODE.values(), *BY_TYPE.values()):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in phrase), phrase
    assert not set(BY_CODE.values()) & set(ZH)  # one place for each phrase


async def test_a_refused_form_in_chinese_says_why_in_chinese(console):
    assert (await console.http.get("/admin/ui/groups", params={"lang": "zh"})).status_code == 200
    name = f"0g-{secrets.token_hex(3)}"
    await console.post("/admin/ui/groups", {"name": name, "price_ratio": "1"})
    again = await console.post("/admin/ui/groups", {"name": name, "price_ratio": "1"})
    error = parse_qs(urlsplit(again.headers["location"]).query)["error"][0]
    assert error == f"分组已存在（group {name} exists already）"
    page = (await console.http.get(again.headers["location"])).text
    assert "分组已存在" in page
