"""The gateway's packages depend one way: the worker-dispatch machinery (services/gateway/workers/:
queue, hub, sockets, tokens) reaches nothing that reaches the container or the request
dependencies, so the container can hold a hub without an import cycle. The dispatch use case
(dispatch_submit.py) sits beside the other use cases and uses both."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIRING = {"services.gateway.container", "services.gateway.deps"}


def _imports(module: str) -> set[str]:
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    if not path.exists():
        return set()
    return {node.module for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("services.")}


def reached_from(package: str) -> set[str]:
    todo = [f"{package}.{path.stem}" for path in (ROOT / package.replace(".", "/")).glob("*.py")]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += _imports(module)
    return seen


def test_the_worker_dispatch_package_never_reaches_the_container():
    reached = reached_from("services.gateway.workers")
    assert "services.gateway.workers.hub" in reached  # the walk itself works
    assert reached & WIRING == set()
