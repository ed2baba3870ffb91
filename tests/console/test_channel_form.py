"""services/gateway/console/channel_form.py: the channel form's caller_token choice reaches the API body."""
from __future__ import annotations

from starlette.datastructures import FormData

from services.gateway.console.channel_form import channel_body


def test_the_caller_token_choice_is_passed_on_and_blank_leaves_the_stored_one():
    chosen = channel_body(FormData([("name", "c"), ("caller_token", "none")]), creating=False)
    assert chosen["caller_token"] == "none"
    assert "caller_token" not in channel_body(FormData([("name", "c")]), creating=False)
