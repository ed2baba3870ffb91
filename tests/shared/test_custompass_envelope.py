import json

import httpx
import pytest

from shared.upstream.custompass import (UpstreamCall, accepted, parse_envelope, transport_errors, validate_usage,
                                        with_precharge_flag)
from shared.upstream.errors import (UpstreamMalformed, UpstreamNotConnected, UpstreamRefused, UpstreamTimeout,
                                    UpstreamUnreachable)


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


@pytest.mark.parametrize("status,blames_channel", [(200, False), (400, False), (404, False), (429, True),
                                                   (500, True), (503, True)])
def test_a_refusal_blames_the_channel_only_when_its_http_status_does(status, blames_channel):
    with pytest.raises(UpstreamRefused) as refused:
        accepted(status, b'{"code": 7, "message": "no"}')
    assert refused.value.blames_channel is blames_channel
    assert refused.value.http_status == (status if status >= 400 else 502)


def test_an_http_error_without_envelope_always_blames_the_channel():
    with pytest.raises(UpstreamRefused) as refused:
        accepted(404, b"<html>not found</html>")
    assert refused.value.blames_channel and refused.value.code == "upstream_http_error"


def test_a_connection_never_made_is_told_apart_from_other_transport_failures():
    call = UpstreamCall(base_url="http://x", api_key="", token_header="X", forwarded_token="", timeout_s=1)
    request = httpx.Request("POST", "http://x")
    for cause, kind in ((httpx.ConnectError("refused", request=request), UpstreamNotConnected),
                        (httpx.ConnectTimeout("slow", request=request), UpstreamNotConnected),
                        (httpx.ReadTimeout("slow", request=request), UpstreamTimeout),
                        (httpx.RemoteProtocolError("gone", request=request), UpstreamUnreachable)):
        with pytest.raises(kind) as raised, transport_errors(call):
            raise cause
        assert isinstance(raised.value, UpstreamNotConnected) == (kind is UpstreamNotConnected)
