"""shared/settings.py: the one rule for secrets a service needs, applied in production only."""
from __future__ import annotations

import pytest

from shared.settings import MIN_SECRET_LENGTH, CommonSettings


def common(environment: str) -> CommonSettings:
    return CommonSettings.model_validate({"CUSTOMPASS_ENV": environment})


@pytest.mark.parametrize("environment,production", [
    ("production", True), ("prod", True), ("PRODUCTION", True), ("development", False), ("staging", False)])
def test_production_is_named_prod_or_production_in_any_case(environment, production):
    assert common(environment).is_production is production


@pytest.mark.parametrize("secret", ["", "s" * (MIN_SECRET_LENGTH - 1)])
def test_production_refuses_a_missing_or_short_secret_and_names_it(secret):
    with pytest.raises(ValueError, match=f"ADMIN_TOKEN must be set to at least {MIN_SECRET_LENGTH} characters"):
        common("production").refuse_weak_secret("ADMIN_TOKEN", secret)


def test_production_takes_a_secret_of_the_minimum_length_and_development_any():
    common("production").refuse_weak_secret("ADMIN_TOKEN", "s" * MIN_SECRET_LENGTH)
    common("development").refuse_weak_secret("ADMIN_TOKEN", "")
