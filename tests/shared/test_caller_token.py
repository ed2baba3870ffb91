"""shared/upstream/caller_token.py: what each `caller_token` choice forwards."""
from __future__ import annotations

import pytest

from shared.settings import CustomPassSettings
from shared.upstream.caller_token import forwarded_token, upstream_caller, user_ref
from shared.upstream.custompass import call_for_channel
from tests.channel_records import channel_of

CALLER = upstream_caller("cp-the-callers-own-key", "usr_1", "server-secret")


def test_user_ref_is_stable_per_user_and_secret_and_reveals_neither():
    assert user_ref("usr_1", "server-secret") == user_ref("usr_1", "server-secret") == CALLER.user_ref
    assert user_ref("usr_2", "server-secret") != CALLER.user_ref
    assert user_ref("usr_1", "another-secret") != CALLER.user_ref
    assert "usr_1" not in CALLER.user_ref and "key" not in CALLER.user_ref


@pytest.mark.parametrize("choice, sent", [(None, CALLER.user_ref), ("user_ref", CALLER.user_ref),
                                          ("key", "cp-the-callers-own-key"), ("none", "")])
def test_each_choice_and_the_default(choice, sent):
    assert forwarded_token(choice, CALLER) == sent


def test_the_header_is_absent_when_nothing_is_forwarded_or_no_caller_is_behind_the_request():
    channel = channel_of(base_url="http://up", caller_token="none")
    default = channel_of(base_url="http://up")
    assert "X-Custom-Token" not in call_for_channel(channel, CALLER, CustomPassSettings()).headers()
    assert "X-Custom-Token" not in call_for_channel(default, None, CustomPassSettings()).headers()
    headers = call_for_channel(default, CALLER, CustomPassSettings()).headers()
    assert headers["X-Custom-Token"] == CALLER.user_ref
