"""What the admin API answered a console form, in the page's language. The console calls the API's
own route code, so its errors are the API's: an `ApiError` with a stable code and an English
message, or pydantic's validation errors with a stable type. In Chinese each is said by its code or
type, with the API's exact message beside it in brackets (it names the field and the value, and is
what the API documentation and logs show); an unknown code or type keeps the English alone."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from services.gateway.errors import ApiError

# ApiError codes the admin routes the console calls can answer.
BY_CODE = {
    "group_exists": "分组已存在", "channel_exists": "同名渠道已存在", "task_type_exists": "任务类型已存在",
    "channel_archived": "渠道已归档，不能再编辑", "unknown_group": "分组不存在，请先创建",
    "invalid_params_schema": "参数 Schema 不是有效的 JSON Schema", "topup_rejected": "充值未被执行",
    "not_found": "未找到", "invalid_request": "请求无效", "conflict": "与现有数据冲突", "json_too_deep": "JSON 嵌套过深",
    "body_too_large": "内容过大", "billing_unavailable": "计费服务暂不可用，请重试",
}
# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/), with their ctx.
BY_TYPE = {
    "missing": "必填", "extra_forbidden": "不允许的字段", "literal_error": "取值不在允许范围内",
    "value_error": "取值无效", "assertion_error": "取值无效", "json_invalid": "不是有效的 JSON",
    "int_parsing": "必须是整数", "int_from_float": "必须是整数", "int_type": "必须是整数",
    "float_parsing": "必须是数字", "float_type": "必须是数字", "decimal_parsing": "必须是数字",
    "decimal_type": "必须是数字", "decimal_max_digits": "位数过多", "decimal_max_places": "小数位过多",
    "bool_parsing": "必须是是/否", "string_type": "必须是文本", "list_type": "必须是列表", "dict_type": "必须是对象",
    "string_too_short": "太短（至少 {min_length} 个字符）", "string_too_long": "太长（最多 {max_length} 个字符）",
    "too_short": "太少（至少 {min_length} 项）", "too_long": "太多（最多 {max_length} 项）",
    "string_pattern_mismatch": "格式不符", "url_parsing": "不是有效的 URL", "url_scheme": "URL 协议不被允许",
    "datetime_parsing": "不是有效的时间", "datetime_from_date_parsing": "不是有效的时间",
    "greater_than": "必须大于 {gt}", "greater_than_equal": "必须大于或等于 {ge}",
    "less_than": "必须小于 {lt}", "less_than_equal": "不能大于 {le}",
}


def error_messages(exc: ValidationError | ApiError, lang: str = "en") -> list[str]:
    """What the admin API would have answered, as lines for the form."""
    if isinstance(exc, ApiError):
        return [_said(BY_CODE.get(str(exc.code)), exc.message, lang)]
    return [_said(_by_type(error), f"{where}: {error['msg']}", lang, where)
            for error in exc.errors() for where in [_where(error)]]


def _where(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "body"


def _by_type(error: Any) -> str | None:
    phrase = BY_TYPE.get(error["type"])
    # 0.0 as pydantic's own message says it: 0
    ctx = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in error.get("ctx", {}).items()}
    try:
        return phrase.format(**ctx) if phrase else None
    except (KeyError, IndexError):  # a ctx this phrase does not expect: say it without the figure
        return phrase.split("{")[0].rstrip("（ ") if phrase else None


def _said(zh: str | None, english: str, lang: str, where: str = "") -> str:
    if lang != "zh" or zh is None:
        return english
    return f"{where}：{zh}（{english}）" if where else f"{zh}（{english}）"
