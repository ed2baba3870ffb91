"""The end-of-run verdict: every money and task rule, checked against MongoDB and the mock
upstream's own record, each violation named by the ids it concerns."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.ledger.invariants import wallet_violations
from shared.status import TaskStatus
from tools.chaos.broker import settled_holds
from tools.chaos.tally import Tally

TERMINAL = [TaskStatus.SUCCESS.value, TaskStatus.FAILURE.value]
ENDED_HOLD_STATES = ("captured", "voided", "rejected")
# Failures after which the upstream may have accepted work we never learned the id of (the
# gateway died mid-submit, the submit timed out): that work cannot be billed, only counted.
UNKNOWN_UPSTREAM_FATE = ("never_submitted", "upstream_error")


@dataclass
class Check:
    name: str
    offending: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def passed(self) -> bool:
        return not self.offending


async def check_all(db: AsyncDatabase, upstream_tasks: list[dict[str, Any]], tally: Tally,
                    settled_before_broker_restart: dict[str, tuple]) -> list[Check]:
    tasks = await db.tasks.find({}).to_list(None)
    holds = {h["_id"]: h async for h in db.holds.find({})}
    logs = await db.consumption_logs.find({}).to_list(None)
    checks = [
        _tasks_terminal(tasks), _acknowledged_kept(tasks, tally.acknowledged), _holds_ended(tasks, holds),
        await _holds_ended_once(db), _one_log_per_task(tasks, logs), await _wallets(db),
        await _debts(db, logs), await _topups(db), _upstream(tasks, upstream_tasks),
        Check("no 500 answer from a gateway", tally.server_errors),
    ]
    if settled_before_broker_restart:
        checks.append(await _settled_money_kept(db, settled_before_broker_restart))
    return checks


async def _settled_money_kept(db: AsyncDatabase, before: dict[str, tuple]) -> Check:
    now = await settled_holds(db)
    return Check("money settled before the broker restart unchanged",
                 [f"{hold_id}: {was} -> {now.get(hold_id)}" for hold_id, was in before.items() if now.get(hold_id) != was],
                 f"{len(before)} holds settled before the stop")


def _tasks_terminal(tasks: list[dict]) -> Check:
    return Check("every task terminal and settled",
                 [f"{t['_id']} ({t['status']}, settled={t.get('settled')})" for t in tasks
                  if t["status"] not in TERMINAL or not t.get("settled")], f"{len(tasks)} tasks")


def _acknowledged_kept(tasks: list[dict], acknowledged: set[str]) -> Check:
    known = {t["_id"] for t in tasks}
    return Check("every task a client was given exists", sorted(acknowledged - known),
                 f"{len(acknowledged)} acknowledged")


def _holds_ended(tasks: list[dict], holds: dict[str, dict]) -> Check:
    """Every hold ended; every terminal task's hold among them (or never placed: a cancelled one)."""
    open_holds = [f"{h['_id']} ({h['state']})" for h in holds.values() if h["state"] not in ENDED_HOLD_STATES]
    missing = [f"{t['_id']}: hold {t['hold_id']} unknown" for t in tasks
               if t["status"] in TERMINAL and int(t.get("hold_amount", 0)) and t["hold_id"] not in holds]
    return Check("every hold ended", open_holds + missing, f"{len(holds)} holds")


async def _holds_ended_once(db: AsyncDatabase) -> Check:
    """The ledger's own record: each placed hold has exactly one end entry, capture or void."""
    placed, ends = set(), Counter()
    async for entry in db.ledger.find({"kind": {"$in": ["hold", "capture", "void"]}}, {"kind": 1}):
        if entry["kind"] == "hold":
            placed.add(entry["_id"])
        else:
            ends[entry["_id"].rsplit(":", 1)[0]] += 1
    wrong = [f"{hold_id}: {ends[hold_id]} ends" for hold_id in sorted(placed | set(ends)) if ends[hold_id] != 1]
    return Check("every placed hold ended exactly once (ledger)", wrong, f"{len(placed)} placed")


def _one_log_per_task(tasks: list[dict], logs: list[dict]) -> Check:
    per_task = Counter(log["task_id"] for log in logs)
    terminal = {t["_id"]: t for t in tasks if t["status"] in TERMINAL}
    wrong = [f"{task_id}: {per_task[task_id]} logs" for task_id in terminal if per_task[task_id] != 1]
    wrong += [f"log for {task_id} whose task is not terminal" for task_id in per_task if task_id not in terminal]
    wrong += [f"{t['_id']}: log charged {log['quota']} but hold captured {t['settlement']['charged']}"
              for log in logs if (t := terminal.get(log["task_id"])) and t.get("settlement")
              and log["quota"] != t["settlement"]["charged"]]
    return Check("exactly one consumption log per terminal task", wrong, f"{len(logs)} logs")


async def _wallets(db: AsyncDatabase) -> Check:
    """available + held + used == credited, held == open holds, available >= 0, wallet == ledger replay."""
    problems = []
    async for wallet in db.wallets.find({}, {"_id": 1}):
        problems += await wallet_violations(db, wallet["_id"])
    return Check("every wallet sound and equal to its ledger replay", problems)


async def _debts(db: AsyncDatabase, logs: list[dict]) -> Check:
    """Nobody below zero but by a recorded debt: a wallet's debt is the sum its logs record."""
    by_logs: Counter[str] = Counter()
    for log in logs:
        by_logs[log["user_id"]] += int(log.get("debt") or 0)
    wrong = []
    async for wallet in db.wallets.find({}):
        if int(wallet.get("debt", 0)) != by_logs[wallet["_id"]]:
            wrong.append(f"{wallet['_id']}: debt {wallet.get('debt', 0)} != logged {by_logs[wallet['_id']]}")
    return Check("debts equal the shortfalls the logs record", wrong, f"{sum(by_logs.values())} in debt")


async def _topups(db: AsyncDatabase) -> Check:
    """Credited equals the applied top-ups, each counted once however often it was asked for."""
    applied: Counter[str] = Counter()
    async for topup in db.topups.find({"state": "applied"}):
        applied[topup["user_id"]] += int(topup["amount"])
    wrong = []
    async for wallet in db.wallets.find({}):
        if int(wallet["credited"]) != applied[wallet["_id"]]:
            wrong.append(f"{wallet['_id']}: credited {wallet['credited']} != applied top-ups {applied[wallet['_id']]}")
    return Check("credited equals the applied top-ups", wrong)


def _upstream(tasks: list[dict], upstream_tasks: list[dict[str, Any]]) -> Check:
    """The mock upstream's own record against ours: no task of ours names upstream work that does
    not exist, everything we charged as done the upstream did complete, and upstream work no task
    of ours knows is no more than the tasks whose submit ended in doubt."""
    upstream = {u["task_id"]: u for u in upstream_tasks}
    ours = {t["upstream_task_id"]: t for t in tasks if t.get("upstream_task_id")}
    wrong = [f"{t['_id']}: upstream id {uid} unknown upstream" for uid, t in ours.items() if uid not in upstream]
    wrong += [f"{t['_id']}: charged as done, upstream says {upstream[uid]['status']}" for uid, t in ours.items()
              if uid in upstream and t["status"] == "SUCCESS" and upstream[uid]["outcome"] != "success"]
    doubtful = [t for t in tasks if t.get("fail_reason") in UNKNOWN_UPSTREAM_FATE
                and t.get("channel_kind") == "custompass_async"]
    unbilled = [uid for uid in upstream if uid not in ours]
    if len(unbilled) > len(doubtful):
        wrong.append(f"{len(unbilled)} upstream tasks no task of ours knows, but only {len(doubtful)} submits "
                     f"ended in doubt: {unbilled[:10]}")
    by_status = defaultdict(int)
    for u in upstream.values():
        by_status[u["status"]] += 1
    return Check("upstream charges reconciled with our tasks", wrong,
                 f"upstream accepted {len(upstream)} ({dict(by_status)}); {len(unbilled)} unknown to us, "
                 f"{len(doubtful)} of our submits ended in doubt")
