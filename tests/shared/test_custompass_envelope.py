import json

import pytest

from shared.upstream.custompass import parse_envelope, validate_usage, with_precharge_flag
from shared.upstream.errors import UpstreamMalformed, UpstreamRefused


def test_code_zero_as_int_or_string_is_success():
    assert parse_envelope(200, b'{"code": 0, "data": 1}').ok
    assert parse_envelope(200, b'{"code": "0", "data": 1}').ok
    assert not parse_envelope(200, b'{"code": 7, "msg": "no"}').ok


def test_message_falls_back_to_msg():
    assert parse_envelope(200, b'{"code": 1, "message": "", "msg": "from msg"}').message == "from msg"
    assert parse_envelope(200, b'{"code": 1, "message": "from message", "msg": "x"}').message == "from message"


@pytest.mark.parametrize("body", [b"not json", b'{"data": 1}', b"[1, 2]"])
def test_malformed_answers_are_rejected(body):
    with pytest.raises(UpstreamMalformed):
        parse_envelope(200, body)


def test_http_error_without_envelope_is_a_refusal():
    with pytest.raises(UpstreamRefused):
        parse_envelope(500, b"upstream exploded")


@pytest.mark.parametrize("usage", [
    {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 4},
    {"prompt_tokens": -1, "completion_tokens": 2, "total_tokens": 1},
    {"prompt_tokens": 1, "completion_tokens": 2},
    "lots",
])
def test_inconsistent_usage_is_malformed(usage):
    with pytest.raises(UpstreamMalformed):
        validate_usage(usage)


def test_precharge_flag_is_added_to_the_body():
    assert json.loads(with_precharge_flag(b'{"prompt": "x"}')) == {"prompt": "x", "precharge": True}
    with pytest.raises(ValueError):
        with_precharge_flag(b"[1]")
