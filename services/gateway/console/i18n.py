"""English and Simplified Chinese for the console. English text is the key: a phrase missing
here shows in English rather than breaking a page."""
from __future__ import annotations

LANGUAGES = ("en", "zh")
LANG_COOKIE = "cp_lang"

ZH = {
    "Admin console": "管理控制台", "Log in": "登录", "Log out": "退出登录", "Admin token": "管理员令牌",
    "Wrong admin token": "管理员令牌错误", "Channels": "渠道", "Users": "用户", "Tasks": "任务",
    "Consumption logs": "消费日志", "New channel": "新建渠道", "Name": "名称", "Kind": "类型",
    "Models": "模型", "Billing": "计费", "Status": "状态", "Enabled": "已启用", "Disabled": "已禁用",
    "Cooling down until": "冷却至", "Recent error rate": "近期错误率", "Edit": "编辑", "Save": "保存",
    "Enable": "启用", "Disable": "禁用", "Test": "测试", "Create": "创建", "Search": "搜索",
    "Filter": "筛选", "Previous": "上一页", "Next": "下一页", "Wallet": "钱包", "Available": "可用",
    "Held": "冻结", "Used": "已用", "Credited": "充值总额", "Debt": "欠款", "Top up": "充值",
    "Amount": "金额", "API keys": "API 密钥", "New key": "新建密钥", "Revoke": "吊销",
    "Shown once: copy it now": "仅显示一次：请立即复制", "Membership until": "会员有效期至",
    "Group": "分组", "Ledger": "账本", "Task": "任务", "Model": "模型", "User": "用户",
    "Created": "创建时间", "Finished": "完成时间", "Hold": "预扣", "Final cost": "最终费用",
    "Refund": "退款", "Shortfall": "补扣", "Request": "请求", "Upstream id": "上游任务 ID",
    "Upstream answer": "上游响应", "Settlement": "结算", "Status history": "状态历史",
    "CustomPass status": "CustomPass 状态", "Internal status": "内部状态", "Export CSV": "导出 CSV",
    "Totals": "合计", "Count": "次数", "Quota": "额度", "Since": "开始", "Until": "结束",
    "Setting": "设置", "In force": "生效值", "Source": "来源", "channel": "渠道", "environment": "环境变量",
    "default": "默认值", "Saved": "已保存", "Per model": "按模型", "Per channel": "按渠道",
    "Per user": "按用户", "Settled": "已结算", "Not settled yet": "尚未结算", "Nothing here yet": "暂无数据",
    "Latency": "延迟", "Answer": "响应", "Worker tokens": "Worker 令牌", "Active": "正常",
    "Channel": "渠道", "Usage": "用量", "Reason": "原因", "Language": "语言", "Fields": "字段",
    "New user": "新建用户", "Key created": "密钥已创建", "Topped up": "充值成功", "Search users": "搜索用户",
    # the overview
    "Overview": "概览", "Period": "时间范围", "Today": "今天", "7 days": "近 7 天", "30 days": "近 30 天",
    "Tasks settled": "已结算任务", "Success rate": "成功率", "Quota spent": "消耗额度", "Refunded": "已退还",
    "Tasks in flight": "进行中的任务", "Tasks per hour": "每小时任务数", "Tasks per day": "每日任务数",
    "Quota spent per model": "各模型消耗额度", "Top models": "主要模型", "Top channels by spend": "消耗最多的渠道",
    "Top users by spend": "消耗最多的用户", "Succeeded": "成功", "Failed": "失败", "Time": "时间",
    "Queue depth by worker group": "各 Worker 分组的队列长度", "Queued": "排队中",
    "Nothing queued": "没有排队的任务", "Channels cooling down": "冷却中的渠道", "Failures in a row": "连续失败次数",
    "None cooling down": "没有冷却中的渠道",
    # reconciliation
    "Reconciliation": "对账", "Every channel": "全部渠道", "Revenue": "收入", "Upstream cost": "上游成本",
    "Margin": "毛利", "Margin where the cost is known": "已知成本部分的毛利", "Expected band": "预期区间",
    "Outside the band": "超出区间", "Cost reports ignored": "被忽略的成本上报", "Late results": "超时后的结果", "Charged": "已扣费", "Ratio": "比率", "Receipt": "收据", "blank: the last day, until now": "留空：最近一天，截至现在",
    "What we charged for the tasks that finished in the period, against what their upstream says they cost us (in quota, at each channel's rate).":
        "本时段内完成的任务：我们的扣费与上游声明的成本（按各渠道费率折算为额度）的对比。",
    "More tasks lie outside the band than are shown: the CSV export lists up to": "超出区间的任务多于此处所列，CSV 导出最多列出",
    "Figures count settled tasks, by the hour they finished (UTC).": "数字统计已结算的任务，按其完成时间（UTC）所在的小时归类。",
}


def translate(lang: str, text: str) -> str:
    return ZH.get(text, text) if lang == "zh" else text


def language(query_lang: str | None, cookie_lang: str | None) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    return "en"
