"""The cost benchmark's figures as summary rows and markdown tables, with the goals of the
cost-per-task issue beside them (reported, never asserted)."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from bench.common import Results
from bench.cost_meter import MONGO_SERVICES, Usage

if TYPE_CHECKING:
    from bench.cost import CostFigures

COMMAND_GOALS = {"async": 10, "sync": 8, "worker": 10}  # MongoDB commands per task
IDLE_COMMANDS_GOAL = 1.0  # per second per service
IDLE_CPU_GOAL = 10.0  # % of one core, the whole stack
STAND_INS = ("tansu", "nx-27017")
STACK = (*MONGO_SERVICES, *STAND_INS)  # what "the whole stack" means: the product and its stand-ins
LABELS = {"async": "async submit -> poll -> settle", "sync": "sync pass-through call",
          "worker": "worker dispatch task"}


def total(counts: dict[str, Counter], service: str | None = None) -> float:
    return sum(sum(c.values()) for s, c in counts.items() if service in (None, s))


def stack_cpu(usage: Usage) -> float:
    return sum(v for p, v in usage.cpu_s.items() if p in STACK)


def report(results: Results, figures: "CostFigures", *, tasks: int, concurrency: int, workers: int) -> None:
    for path, cost in figures.paths.items():
        n = max(cost.tasks, 1)
        scenario = f"cost {path}"
        commands = total(cost.cost.commands) / n
        results.add(scenario, f"MongoDB commands per task (goal <= {COMMAND_GOALS[path]})", f"{commands:.1f}",
                    " + ".join(f"{s} {total(cost.cost.commands, s) / n:.1f}" for s in MONGO_SERVICES)
                    + f"; {cost.tasks} tasks at c={concurrency}, idle rate subtracted")
        results.add(scenario, "MongoDB documents written per task", f"{total(cost.cost.documents) / n:.1f}",
                    " + ".join(f"{s} {total(cost.cost.documents, s) / n:.1f}" for s in MONGO_SERVICES))
        topics = _by_topic(cost.cost)
        results.add(scenario, "Kafka messages per task", f"{sum(topics.values()) / n:.1f}",
                    ", ".join(f"{t} {v / n:.1f}" for t, v in sorted(topics.items()) if round(v / n, 1)))
        results.add(scenario, "CPU ms per task, whole stack", f"{stack_cpu(cost.cost) / n * 1000:.1f} ms",
                    ", ".join(f"{p} {cost.cost.cpu_s.get(p, 0.0) / n * 1000:.1f}" for p in STACK))
        if cost.failed:
            results.add(scenario, "failed calls", f"{len(cost.failed)} of {cost.accepted + len(cost.failed)}",
                        f"every call counts as a task; {cost.settled} settlements in the window; "
                        f"first: {cost.failed[0]!r}"[:300])
    for label, idle in (("idle", figures.idle), (f"idle, {workers} workers waiting", figures.idle_with_workers),
                        ("idle after the runs", figures.idle_after)):
        rates = {s: total(idle.commands, s) / idle.wall_s for s in MONGO_SERVICES}
        results.add(f"cost {label}", f"MongoDB commands/s, busiest service (goal <= {IDLE_COMMANDS_GOAL:g})",
                    f"{max(rates.values()):.1f}/s", ", ".join(f"{s} {r:.1f}" for s, r in rates.items())
                    + f"; over {idle.wall_s:.0f}s")
        results.add(f"cost {label}", f"CPU of the whole stack (goal <= {IDLE_CPU_GOAL:g}% of a core)",
                    f"{stack_cpu(idle) / idle.wall_s * 100:.0f}% of a core",
                    ", ".join(f"{p} {idle.cpu_s.get(p, 0.0) / idle.wall_s * 100:.1f}%" for p in STACK))
    results.section("Cost per task (idle rate subtracted)", _per_task_table(figures))
    results.section("CPU ms per task, by process", _cpu_table(figures))
    results.section("MongoDB commands per task, by service, command and collection", _commands_table(figures))
    results.section("Kafka messages per task, by topic", _topics_table(figures))
    results.section("Idle (no requests)", _idle_table(figures, workers))


def _by_topic(usage: Usage) -> Counter:
    topics: Counter = Counter()
    for counts in usage.messages.values():
        topics.update(counts)
    return topics


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows])


def _per_task_table(figures: "CostFigures") -> str:
    rows = []
    for path, cost in figures.paths.items():
        n = max(cost.tasks, 1)
        rows.append([LABELS[path], str(cost.tasks), f"{total(cost.cost.commands) / n:.1f}", f"<= {COMMAND_GOALS[path]}",
                     *(f"{total(cost.cost.commands, s) / n:.1f}" for s in MONGO_SERVICES),
                     f"{total(cost.cost.documents) / n:.1f}"
                     + " (" + " + ".join(f"{total(cost.cost.documents, s) / n:.1f}" for s in MONGO_SERVICES) + ")",
                     f"{sum(_by_topic(cost.cost).values()) / n:.1f}", f"{stack_cpu(cost.cost) / n * 1000:.1f}",
                     f"{total(cost.window.commands) / n:.1f} / {stack_cpu(cost.window) / n * 1000:.1f}",
                     f"{cost.window.wall_s:.1f}"])
    note = ("\n\nGross: the window's counts without the idle rate subtracted. A negative figure means a process "
            "did less of its idle routine while loaded than at rest (a loop that sleeps after each run slows "
            "down when its runs do; busy fetch loops starve under contention).")
    return markdown(["path", "tasks", "MongoDB commands/task", "goal", *MONGO_SERVICES,
                     "documents written/task (g + b + p + s)", "Kafka messages/task", "CPU ms/task (stack)",
                     "gross commands / CPU ms per task", "window s"], rows) + note


def _cpu_table(figures: "CostFigures") -> str:
    processes = [*STACK, "mock_upstream", "bench (this process)"]
    def ms(usage: Usage, process: str, tasks: int) -> float:
        return usage.cpu_s.get(process, 0.0) / max(tasks, 1) * 1000

    rows = [[LABELS[path], *(f"{ms(cost.cost, p, cost.tasks):.1f} ({ms(cost.window, p, cost.tasks):.1f})"
                             for p in processes),
             f"{stack_cpu(cost.cost) / max(cost.tasks, 1) * 1000:.1f} ({stack_cpu(cost.window) / max(cost.tasks, 1) * 1000:.1f})"]
            for path, cost in figures.paths.items()]
    note = ("\n\nEach cell: idle rate subtracted (gross in brackets). The stack is the four services and the two "
            "stand-ins; the mock upstream and the bench process (clients and echo workers) are shown apart and not "
            "counted in it. On a machine shared with other work the idle loops (Tansu's fetch loops above all) "
            "run less often under load than at rest, which drives the subtracted figures down, even below zero: "
            "read CPU per task from a quiet machine, and the counts from any.")
    return markdown(["path", *processes, "stack"], rows) + note


def _commands_table(figures: "CostFigures") -> str:
    keys = sorted({(s, *k) for cost in [*figures.paths.values()] for s, c in cost.window.commands.items() for k in c}
                  | {(s, *k) for s, c in figures.idle.commands.items() for k in c})
    rows = []
    for service, command, collection in keys:
        cells = [f"{cost.cost.commands.get(service, Counter())[(command, collection)] / max(cost.tasks, 1):.2f}"
                 for cost in figures.paths.values()]
        idle_rate = figures.idle.commands.get(service, Counter())[(command, collection)] / figures.idle.wall_s
        if all(c in ("0.00", "-0.00") for c in cells) and idle_rate < 0.005:
            continue
        rows.append([service, command, collection or "(database)", *cells, f"{idle_rate:.2f}"])
    return markdown(["service", "command", "collection", *(f"{p} /task" for p in figures.paths), "idle /s"], rows)


def _topics_table(figures: "CostFigures") -> str:
    per_path = {path: _by_topic(cost.cost) for path, cost in figures.paths.items()}
    topics = sorted({t for c in per_path.values() for t in c} | set(_by_topic(figures.idle)))
    rows = [[t, *(f"{per_path[p][t] / max(figures.paths[p].tasks, 1):.2f}" for p in figures.paths),
             f"{_by_topic(figures.idle)[t] / figures.idle.wall_s:.2f}"] for t in topics]
    return markdown(["topic", *(f"{p} /task" for p in figures.paths), "idle /s"], rows)


def _idle_table(figures: "CostFigures", workers: int) -> str:
    idles = {"idle": figures.idle, f"{workers} workers waiting": figures.idle_with_workers,
             "idle after the runs": figures.idle_after}
    rows = [[f"{s}: MongoDB commands/s (goal <= {IDLE_COMMANDS_GOAL:g})",
             *(f"{total(u.commands, s) / u.wall_s:.2f}" for u in idles.values())] for s in MONGO_SERVICES]
    rows += [[f"{p}: CPU % of a core", *(f"{u.cpu_s.get(p, 0.0) / u.wall_s * 100:.1f}" for u in idles.values())]
             for p in STACK]
    rows.append([f"whole stack: CPU % of a core (goal <= {IDLE_CPU_GOAL:g})",
                 *(f"{stack_cpu(u) / u.wall_s * 100:.1f}" for u in idles.values())])
    return markdown(["figure", *(f"{k} ({u.wall_s:.0f} s)" for k, u in idles.items())], rows)
