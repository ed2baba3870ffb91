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
    # worker dispatch
    "Worker dispatch": "Worker 调度", "Times in UTC; the figures refresh every few seconds.": "时间为 UTC；数据每隔几秒自动刷新。",
    "Workers online": "在线 Worker", "Busy": "忙碌", "Idle": "空闲", "Queue depth": "队列长度", "Executing": "执行中",
    "Worker groups": "Worker 分组", "Workers": "Worker 列表", "Worker": "Worker", "State": "状态", "Connected": "连接时间",
    "Queue": "队列", "Queued at": "入队时间", "Started": "开始时间", "Recent requests and responses": "最近的请求与响应",
    "Completed": "已完成", "Updated": "已更新", "Refresh failed": "刷新失败",
    # reconciliation
    "Reconciliation": "对账", "Every channel": "全部渠道", "Revenue": "收入", "Upstream cost": "上游成本",
    "Margin": "毛利", "Margin where the cost is known": "已知成本部分的毛利", "Expected band": "预期区间",
    "Outside the band": "超出区间", "Cost reports ignored": "被忽略的成本上报", "Late results": "超时后的结果", "Charged": "已扣费", "Ratio": "比率", "Receipt": "收据", "blank: the last day, until now": "留空：最近一天，截至现在",
    "What we charged for the tasks that finished in the period, against what their upstream says they cost us (in quota, at each channel's rate).":
        "本时段内完成的任务：我们的扣费与上游声明的成本（按各渠道费率折算为额度）的对比。",
    "More tasks lie outside the band than are shown: the CSV export lists up to": "超出区间的任务多于此处所列，CSV 导出最多列出",
    "Figures count settled tasks, by the hour they finished (UTC).": "数字统计已结算的任务，按其完成时间（UTC）所在的小时归类。",
    # user, key and worker-token pages; notices; the task page's billing and history
    "%s of %s tasks": "%s（共 %s 个任务）", "Back": "返回", "Prefix": "前缀", "Entry": "条目", "Error": "错误", "Not saved": "未保存",
    "Blank: no membership required.": "留空：无需会员资格。", "ISO-8601; blank keeps it.": "ISO-8601 格式；留空则保持不变。",
    "Workers connect with it to WS /ws?group=NAME.": "Worker 用它连接 WS /ws?group=NAME。",
    "Billing mode": "计费方式", "Free": "免费", "Per call": "按次", "Per usage": "按用量", "Price": "价格",
    "Precharge": "预扣额度", "Usage field": "用量字段", "Price ratio": "价格倍率", "quota per call": "额度/次",
    "quota per 1,000 usage units": "额度/每 1,000 用量单位", "tokens (default)": "tokens（默认）",
    "default: the price (per call) or 0": "默认：价格（按次）或 0",
    "created": "创建", "submitted upstream": "已提交上游", "last change": "最近变更", "finished": "完成",
    # the channel form: readable labels and their help
    "Base URL": "上游地址", "Upstream API key": "上游 API 密钥", "Upstream precharge": "上游预扣",
    "Token header": "令牌请求头", "Caller token": "调用方令牌", "Timeout (s)": "超时（秒）",
    "Poll interval (s)": "轮询间隔（秒）", "Task lifetime (s)": "任务最长存活（秒）", "Batch size": "批量大小",
    "Max concurrent": "最大并发", "Max requests per second": "每秒最多请求数", "Result storage": "结果存储",
    "Priority": "优先级", "Weight": "权重", "Failure threshold": "失败阈值", "Cooldown (s)": "冷却时长（秒）",
    "Worker group": "Worker 分组", "Kind worker only.": "仅用于 worker 类型。", "Model mapping": "模型映射",
    "Status words: success": "状态词：成功", "Status words: failed": "状态词：失败",
    "Status words: processing": "状态词：处理中", "Status words: queued": "状态词：排队中",
    "set: leave blank to keep": "已设置：留空则保持不变", "No base URL to call": "没有可调用的上游地址",
    "custompass_async: submit then poll; custompass_sync: pass-through; worker: WebSocket workers of a group.":
        "custompass_async：提交后轮询；custompass_sync：直通；worker：某分组的 WebSocket Worker。",
    "The upstream's root, e.g. https://api.example.com/v1": "上游的根地址，例如 https://api.example.com/v1",
    "Sent as Authorization: Bearer; never shown again.": "以 Authorization: Bearer 发送；保存后不再显示。",
    "Public model names, comma-separated (async: name or name/submit).": "对外的模型名，逗号分隔（异步：name 或 name/submit）。",
    "Per call: quota per call; per usage: quota per 1,000 usage units.": "按次：每次调用的额度；按用量：每 1,000 用量单位的额度。",
    "Quota held at submit; blank: the price (per call) or 0.": "提交时预扣的额度；留空：价格（按次）或 0。",
    "Per usage: the usage field counted (e.g. seconds); blank: tokens.": "按用量：计量的用量字段（如 seconds）；留空：tokens。",
    "Price holds by the upstream's precharge answer (two-request protocol).": "按上游的预扣响应确定预扣额度（两次请求协议）。",
    "Header carrying the caller's token upstream.": "向上游传递调用方令牌的请求头。",
    "What that header carries: user_ref, a stable non-secret reference per user (default); key, the caller's own API key (the upstream could use it against this gateway); none.":
        "该请求头携带的内容：user_ref，每个用户固定且不含机密的标识（默认）；key，调用方自己的 API 密钥（上游可能用它调用本网关）；none，不携带。",
    "A task older than this fails and is refunded.": "超过此时长的任务判为失败并退款。",
    "Most status queries a second per poller; blank: no limit.": "每个轮询器每秒最多的状态查询数；留空：不限。",
    "Keep copies of result files (upstreams delete theirs) and give clients our URLs.": "保存结果文件副本（上游会删除其文件），并向客户端提供本网关的地址。",
    "Higher is tried first.": "数值越大越先尝试。", "Share among channels of one priority; 0: a spare.": "同一优先级渠道间的分配比例；0：备用。",
    "Upstream status words; blank: the environment's. Queued: accepted but not started (the Task API's pending).":
        "上游的状态词；留空：使用环境变量的设置。排队中：已接受但未开始（Task API 的 pending）。",
    "One public=upstream pair per line.": "每行一对 对外名=上游名。",
    "Webhook secret": "Webhook 密钥",
    "Replicate: the whsec_ secret its webhooks are signed with (GET /v1/webhooks/default/secret); never shown again.":
        "Replicate：其 webhook 签名所用的 whsec_ 密钥（GET /v1/webhooks/default/secret）；保存后不再显示。",
    "Upstream cost and guardrails": "上游成本与保护", "Upstream cost unit": "上游成本单位", "worth (quota)": "折合额度",
    "What the upstream's costs are counted in, and the quota one of it is worth; blank: quota units.":
        "上游成本的计量单位，以及一个单位折合多少额度；留空：按额度单位。",
    "Upstream cost per second": "上游每秒成本",
    "Replicate, RunningHub: what one second of run time costs upstream, in that unit.":
        "Replicate、RunningHub：上游每运行一秒的成本，以上述单位计。",
    "Expected margin": "预期利润率区间",
    "Reconciliation lists tasks whose charge / upstream cost is outside this band.": "对账会列出收费与上游成本之比超出此区间的任务。",
    "Max charge": "最高扣费",
    "A final cost above this (and above the hold) is charged the hold only and flagged for review.":
        "最终费用高于此值（且高于预扣）时只扣预扣额，并标记待审核。",
    "Max charge multiple": "最高扣费倍数",
    "A final cost above this multiple of the hold is charged the hold only and flagged for review.":
        "最终费用超过预扣额的此倍数时只扣预扣额，并标记待审核。",
    "Late results": "迟到结果", "Late result": "迟到结果处理",
    "Record for the operator only": "仅记录给运营者", "Also show it to its owner, uncharged": "也展示给任务所有者，不收费",
    "A task that timed out (refunded) but finishes upstream later: recorded for the operator only, or also shown to its owner, uncharged.":
        "已超时（已退款）但上游之后才完成的任务：仅记录给运营者，或也展示给其所有者且不收费。",
    "Late watch (s)": "迟到观察时长（秒）",
    "How long after a timeout the upstream is still asked; 0: not at all.": "超时后仍向上游查询的时长；0：不查询。",
    "Key": "密钥", "Archive": "归档", "Archived at": "归档于", "Channel archived": "渠道已归档",
    "it serves no new tasks and cannot be edited; its tasks and logs keep its id.": "不再接收新任务，也不能再编辑；它的任务和日志仍保留其 ID。",
    "It stops serving new tasks at once and leaves the list; tasks in flight on it still finish and settle. This cannot be undone.":
        "立即停止接收新任务并从列表中移除；进行中的任务仍会完成并结算。此操作不可撤销。",
    "Groups": "分组", "Description": "描述", "Requests per minute": "每分钟请求数", "Tasks in flight": "进行中任务数",
    "Key quota": "密钥额度上限", "New group": "新建分组",
    "A group's price ratio multiplies the holds and costs of its users; its key limits apply to their keys that set none of their own.":
        "分组的价格倍率作用于其用户的预扣与费用；其密钥限制适用于未自行设置限制的用户密钥。",
    "1 charges the channel's price; 0.8 is 20% off.": "1 即按渠道价格计费；0.8 即八折。",
    "Comma-separated; empty: every model.": "以逗号分隔；留空：全部模型。",
    # users and their keys
    "Balance": "余额", "Initial quota": "初始额度", "Credited to the wallet once; blank: none.": "一次性充入钱包；留空：不充值。",
    "Expires": "过期时间", "Copy": "复制", "Copied": "已复制", "Selected: press Ctrl+C to copy": "已选中：请按 Ctrl+C 复制",
    "Blank: no limit. Models comma-separated; blank: every model. Expiry in UTC; blank: never.":
        "留空：不限制。模型以逗号分隔；留空：全部模型。过期时间为 UTC；留空：永不过期。",
    # task types
    "Task types": "任务类型", "Type": "类型", "Params JSON Schema": "参数 JSON Schema", "New task type": "新建任务类型",
    "Blank schema: any params.": "Schema 留空：接受任意参数。",
    "A task type is what Task API clients ask for: the public model whose channels serve and price it, and a JSON Schema its tasks' params must fit.":
        "任务类型是 Task API 客户端请求的对象：由哪个对外模型的渠道执行并计价，以及其任务参数必须符合的 JSON Schema。",
    "Lower-case letters, digits and _, starting with a letter (e.g. basic_clean).": "小写字母、数字和 _，以字母开头（例如 basic_clean）。",
    "A public model name, as channels list it.": "对外的模型名，与渠道中所列一致。",
}

# Display names of stored codes, looked up with `translate` like any phrase.
BILLING_MODES = {"free": "Free", "per_call": "Per call", "per_usage": "Per usage"}
USER_STATUSES = {"active": "Active", "disabled": "Disabled"}
LATE_POLICIES = {"drop": "Record for the operator only", "deliver_free": "Also show it to its owner, uncharged"}
FIELD_LABELS = {"token_header": "Token header", "poll_interval_s": "Poll interval (s)",
                "task_lifetime_s": "Task lifetime (s)", "batch_size": "Batch size", "max_concurrent": "Max concurrent",
                "failure_threshold": "Failure threshold", "cooldown_s": "Cooldown (s)"}


def translate(lang: str, text: str) -> str:
    return ZH.get(text, text) if lang == "zh" else text


def language(query_lang: str | None, cookie_lang: str | None) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    return "en"
