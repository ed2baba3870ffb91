"""Settlement's settings: callbacks are never signed with an empty key in production."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from services.settlement.settings import SettlementSettings
from tests.harness.processes import ROOT

PRODUCTION = {"CUSTOMPASS_ENV": "production"}


def settings(**env: str) -> SettlementSettings:
    return SettlementSettings.model_validate(env)


@pytest.mark.parametrize("secret", ["", "short"])
def test_production_refuses_a_missing_or_short_callback_signing_secret(secret):
    with pytest.raises(ValidationError, match="CALLBACK_SIGNING_SECRET must be set"):
        settings(**PRODUCTION, callback_signing_secret=secret)


def test_production_starts_with_a_callback_signing_secret_and_development_without():
    assert settings(**PRODUCTION, callback_signing_secret="s" * 32).callback_signing_secret == "s" * 32
    assert settings().callback_signing_secret == ""


def test_the_settlement_process_refuses_to_start_in_production_and_says_why():
    env = {k: v for k, v in os.environ.items() if k != "CALLBACK_SIGNING_SECRET"}
    run = subprocess.run([sys.executable, "-m", "services.settlement"], cwd=ROOT, capture_output=True, text=True,
                         env={**env, **PRODUCTION}, timeout=120)
    assert run.returncode != 0
    assert "settlement: refusing to start: CALLBACK_SIGNING_SECRET must be set" in run.stderr
    assert "Traceback" not in run.stderr
