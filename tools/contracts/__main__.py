"""python -m tools.contracts           write docs/openapi.json and docs/asyncapi.json
python -m tools.contracts --check   exit 1 if the checked-in documents differ from the code's"""
from __future__ import annotations

import argparse
import sys

from tools.contracts import DOCS, generated


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.contracts")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    stale = []
    for name, text in generated().items():
        path = DOCS / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            DOCS.mkdir(exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run `make contracts`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
