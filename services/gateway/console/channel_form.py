"""A channel form's fields as the admin API's JSON body, and where each default comes from."""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from services.gateway.console.pages import listed
from services.gateway.settings import GatewaySettings
from shared.channels import Channel

NUMBERS = {"timeout_s": float, "poll_interval_s": float, "task_lifetime_s": float, "batch_size": int,
           "max_concurrent": int, "priority": int, "weight": int, "failure_threshold": int, "cooldown_s": float,
           "max_requests_per_s": float, "max_charge": int, "late_watch_s": float}
# Decimal amounts are passed on as typed: the API's model parses (and names) them.
TEXTS = ("name", "base_url", "token_header", "caller_token", "group", "result_storage", "late_result",
         "upstream_cost_per_second", "max_charge_multiple")
SECRETS = ("api_key", "webhook_secret")  # never shown; blank on edit keeps the stored one

# setting on the channel -> (the environment variable's setting, its variable name)
OVERRIDABLE = {
    "token_header": ("custom_pass_header_key", "CUSTOM_PASS_HEADER_KEY"),
    "poll_interval_s": ("custom_pass_poll_interval", "CUSTOM_PASS_POLL_INTERVAL"),
    "task_lifetime_s": ("custom_pass_task_max_lifetime", "CUSTOM_PASS_TASK_MAX_LIFETIME"),
    "batch_size": ("custom_pass_batch_size", "CUSTOM_PASS_BATCH_SIZE"),
    "max_concurrent": ("custom_pass_max_concurrent", "CUSTOM_PASS_MAX_CONCURRENT"),
    "failure_threshold": ("channel_failure_threshold", "CHANNEL_FAILURE_THRESHOLD"),
    "cooldown_s": ("channel_cooldown_s", "CHANNEL_COOLDOWN_S"),
}


def channel_body(form: FormData, *, creating: bool) -> dict[str, Any]:
    """Blank fields are left out: on create the API's default applies, on edit the stored value
    stays. Numbers that do not parse are passed on as text, so the API's validation names them."""
    body: dict[str, Any] = {}
    for name in TEXTS + (("kind",) if creating else ()):
        if (value := str(form.get(name, "")).strip()):
            body[name] = value
    for name in SECRETS:
        if (secret := str(form.get(name, ""))):
            body[name] = secret
    if (models := listed(form.get("models"))):
        body["models"] = models
    for name, kind in NUMBERS.items():
        if (value := str(form.get(name, "")).strip()):
            body[name] = _number(value, kind)
    billing = {"mode": str(form.get("billing_mode") or "per_call")}
    for name in ("price", "precharge"):
        if (value := str(form.get(f"billing_{name}", "")).strip()):
            billing[name] = _number(value, int)
    if (usage_field := str(form.get("billing_usage_field", "")).strip()):
        billing["usage_field"] = usage_field
    body["billing"] = billing
    body["enabled"] = form.get("enabled") == "on"
    body["upstream_precharge"] = form.get("upstream_precharge") == "on"
    words = {w: listed(form.get(f"status_{w}")) for w in ("success", "failed", "processing", "queued")}
    if any(words.values()):
        body["status_words"] = {w: v for w, v in words.items() if v}
    for field, parts in (("upstream_cost_unit", ("name", "quota_per_unit")), ("expected_margin_band", ("min", "max"))):
        given = {part: value for part in parts if (value := str(form.get(f"{field}_{part}", "")).strip())}
        if given:
            body[field] = given  # one part alone is passed on too: the API says which is missing
    mapping = [line.split("=", 1) for line in str(form.get("model_mapping", "")).splitlines() if "=" in line]
    if mapping:
        body["model_mapping"] = {k.strip(): v.strip() for k, v in mapping}
    return body


def settings_in_force(channel: Channel | None, settings: GatewaySettings) -> list[dict[str, Any]]:
    """Per overridable setting: the value in force and whether it comes from the channel, the
    environment or the default (channel > environment > default)."""
    rows = []
    for field, (setting, variable) in OVERRIDABLE.items():
        own = getattr(channel, field) if channel is not None else None
        if own is not None:
            rows.append({"field": field, "value": own, "source": "channel", "variable": variable})
        else:
            source = "environment" if setting in settings.model_fields_set else "default"
            rows.append({"field": field, "value": getattr(settings, setting), "source": source, "variable": variable})
    return rows


def _number(text: str, kind: type) -> int | float | str:
    try:
        return kind(text)
    except ValueError:
        return text
