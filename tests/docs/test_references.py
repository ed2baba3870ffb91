"""Every Markdown file the code and the docs name exists in the repository: a docstring, comment or
link citing a document the repository lacks (a team note, a file since renamed) fails here."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMED_IN_CODE = re.compile(r"(?<![\w/.-])((?:\.\./|[\w.-]+/)*[\w-]+\.md)\b")
LINKED_IN_DOCS = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")


def tracked(suffix: str) -> list[Path]:
    names = subprocess.run(["git", "ls-files", f"*{suffix}"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [ROOT / name for name in names if "node_modules" not in name]


def missing(cited: str, near: Path) -> bool:
    if "/" not in cited:  # a bare name, as in ROOT / "docs" / "quickstart.md": some document of that name
        return cited not in {path.name for path in tracked(".md")}
    # Inside the repository: a path out of it (../shared/...) names a file a clone does not have.
    return not any((base / cited).resolve().is_file() and (base / cited).resolve().is_relative_to(ROOT)
                   for base in (ROOT, near.parent))


def test_every_markdown_file_the_code_names_exists():
    dangling = {(str(path.relative_to(ROOT)), cited) for path in tracked(".py")
                for cited in NAMED_IN_CODE.findall(path.read_text(encoding="utf-8")) if missing(cited, path)}
    assert dangling == set()


def test_every_markdown_link_of_the_docs_resolves():
    dangling = {(str(path.relative_to(ROOT)), cited) for path in tracked(".md")
                for cited in LINKED_IN_DOCS.findall(path.read_text(encoding="utf-8"))
                if not cited.startswith(("http://", "https://")) and missing(cited, path)}
    assert dangling == set()
