"""The gateway's modules depend one way: the worker-dispatch machinery (services/gateway/workers/:
queue, hub, sockets, tokens) and the use cases that are given what they use (`USE_CASES`:
task_opening's TaskOpener, dispatch_submit's Submission, async_submit's AsyncSubmission, ...)
reach nothing that reaches the container or the request dependencies at run time, so the
container can build them without an import cycle (an import under `if TYPE_CHECKING:` is a type
only). Only the entry points (routes, console pages, the request dependencies) are handed the
container whole."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIRING = {"services.gateway.container", "services.gateway.deps"}
GATEWAY = ROOT / "services" / "gateway"
USE_CASES = ("task_opening", "dispatch_submit", "async_submit", "sync_pass", "task_api.creation", "task_cancel",
             "webhook_intake", "event_streams")
# Entry points and the wiring itself: a route's or a page's signature names the container (`Deps`).
ENTRY_POINTS = ("routes/", "console/", "app.py", "container.py", "deps.py", "task_api/auth.py")


def _imports(module: str) -> set[str]:
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    if not path.exists():
        return set()
    tree = ast.parse(path.read_text())
    types_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                  and getattr(block.test, "id", None) == "TYPE_CHECKING" for node in ast.walk(block)}
    return {node.module for node in ast.walk(tree) if id(node) not in types_only
            and isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("services.")}


def reached_from(*modules: str) -> set[str]:
    todo = list(modules)
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += _imports(module)
    return seen


def test_the_worker_dispatch_package_never_reaches_the_container():
    package = ROOT / "services" / "gateway" / "workers"
    reached = reached_from(*(f"services.gateway.workers.{path.stem}" for path in package.glob("*.py")))
    assert "services.gateway.workers.hub" in reached  # the walk itself works
    assert reached & WIRING == set()


def test_the_use_cases_given_what_they_use_never_reach_the_container():
    reached = reached_from(*(f"services.gateway.{name}" for name in USE_CASES))
    assert "services.gateway.workers.hub" in reached
    assert reached & WIRING == set()


def _takes_the_container(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    arguments = (arg for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs)
    return any(arg.annotation is not None and ast.unparse(arg.annotation) in {"Container", "Deps"}
               for arg in arguments)


def test_only_entry_points_take_the_container_whole():
    takers = {str(path.relative_to(GATEWAY)) for path in GATEWAY.rglob("*.py")
              if not str(path.relative_to(GATEWAY)).startswith(ENTRY_POINTS) and _takes_the_container(path)}
    assert _takes_the_container(GATEWAY / "routes" / "pass_sync.py")  # the check itself works
    assert takers == set()
