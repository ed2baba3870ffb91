"""`custompass`: the SDK from a shell.

    custompass submit MODEL --data @body.json [--wait] [--timeout S]
    custompass get ID | watch ID [--timeout S] | cancel ID | list | wallet | models

The gateway and key come from `--url` / `--api-key`, else `CUSTOMPASS_URL` / `CUSTOMPASS_API_KEY`.
Results go to stdout (`--json`: the API's JSON), progress to stderr. Exit codes are `EXIT_*`."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from pydantic import BaseModel

from custompass.client import Client
from custompass.errors import ApiError, TransportError, UsageError, WaitTimeout
from custompass.models import ModelList, Task, TaskList

EXIT_OK = 0  # done; a waited task completed
EXIT_TASK_FAILED = 1  # the task ended `failed`
EXIT_USAGE = 2  # bad arguments, unreadable --data, no URL or key
EXIT_API_ERROR = 3  # the gateway answered an error (its code on stderr)
EXIT_TIMEOUT = 4  # --timeout passed before the task finished (the task is still running)
EXIT_UNREACHABLE = 5  # the gateway could not be reached, after retries


def parser() -> argparse.ArgumentParser:
    # Accepted before and after the command; SUPPRESS so a subcommand's default never hides a value given before it.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--url", help="gateway URL (default: $CUSTOMPASS_URL)")
    common.add_argument("--api-key", help="API key (default: $CUSTOMPASS_API_KEY)")
    common.add_argument("--json", action="store_true", help="print the API's JSON")
    top = argparse.ArgumentParser(prog="custompass", description=__doc__.split("\n\n")[0], parents=[common],
                                  epilog="exit codes: 0 ok, 1 task failed, 2 usage, 3 API error, "
                                         "4 timeout, 5 gateway unreachable")
    commands = top.add_subparsers(dest="command", required=True)
    submit = commands.add_parser("submit", parents=[common], help="open an async task")
    submit.add_argument("model")
    submit.add_argument("--data", "-d", required=True, help="the JSON body, or @FILE, or @- for stdin")
    submit.add_argument("--wait", action="store_true", help="wait for the terminal task")
    submit.add_argument("--timeout", type=float, help="with --wait: give up after this many seconds")
    submit.add_argument("--idempotency-key", help="default: a fresh one (retries reuse it)")
    for name, text in (("get", "show a task"), ("cancel", "cancel a task")):
        commands.add_parser(name, parents=[common], help=text).add_argument("task_id")
    watch = commands.add_parser("watch", parents=[common], help="follow a task until it is terminal")
    watch.add_argument("task_id")
    watch.add_argument("--timeout", type=float)
    listing = commands.add_parser("list", parents=[common], help="own tasks, newest first")
    listing.add_argument("--status")
    listing.add_argument("--model")
    listing.add_argument("--limit", type=int, default=20)
    commands.add_parser("wallet", parents=[common], help="own wallet")
    commands.add_parser("models", parents=[common], help="the models this key may use")
    return top


def body_of(data: str) -> bytes:
    """`--data`: inline JSON, `@FILE` or `@-`; sent as given once it parses as JSON."""
    try:
        if not data.startswith("@"):
            raw = data.encode()
        elif data == "@-":
            raw = sys.stdin.buffer.read()
        else:
            with open(data[1:], "rb") as file:
                raw = file.read()
        json.loads(raw)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--data: {exc}") from exc
    return raw


class Progress:
    """A one-line status on stderr, rewritten in place on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.last = out, None

    def __call__(self, task: Task) -> None:
        line = f"{task.task_id}  {task.status}  {task.progress or ''}".rstrip()
        if line == self.last:
            return
        self.last = line
        self.out.write(("\r\033[K" if self.out.isatty() else "") + line + ("" if self.out.isatty() else "\n"))
        self.out.flush()

    def end(self) -> None:
        if self.last is not None and self.out.isatty():
            self.out.write("\n")


def show(value: BaseModel, as_json: bool) -> None:
    """`--json`: the answer as one line of JSON; else a task as `ID<TAB>STATUS<TAB>PROGRESS` (then
    its result and error), a list as one row per task or model, a wallet as `name: value` lines."""
    if as_json:
        print(json.dumps(value.model_dump(mode="json", exclude_none=True)))
    elif isinstance(value, Task):
        print(f"{value.task_id}\t{value.status}\t{value.progress or ''}")
        if value.result is not None:
            print(json.dumps(value.result))
        if value.error:
            print(f"error: {value.error}")
    elif isinstance(value, TaskList):
        for task in value.data:
            print(f"{task.task_id}\t{task.status}\t{task.progress or ''}\t{task.model or ''}\t{task.created_at or ''}")
    elif isinstance(value, ModelList):
        for model in value.data:
            print(f"{model.id}\t{model.mode}\t{model.endpoint}\tprice {model.price}\thold {model.hold}")
    else:
        for name, item in value.model_dump(mode="json", exclude_none=True).items():
            print(f"{name}: {json.dumps(item) if isinstance(item, (dict, list)) else item}")


def execute(client: Client, args: argparse.Namespace) -> Any:
    progress = Progress(sys.stderr)
    try:
        if args.command == "submit" and args.wait:
            return client.run(args.model, body_of(args.data), timeout=args.timeout, on_update=progress,
                              idempotency_key=args.idempotency_key)
        if args.command == "submit":
            return client.submit(args.model, body_of(args.data), idempotency_key=args.idempotency_key)
        if args.command == "watch":
            return client.wait(args.task_id, args.timeout, on_update=progress)
    finally:
        progress.end()
    if args.command == "list":
        return client.list(status=args.status, model=args.model, limit=args.limit)
    if args.command in ("get", "cancel"):
        return getattr(client, args.command)(args.task_id)
    return getattr(client, args.command)()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.json = getattr(args, "json", False)
    try:
        with Client(getattr(args, "url", None), getattr(args, "api_key", None)) as client:
            answer = execute(client, args)
    except UsageError as exc:  # no URL or key, unreadable or invalid --data
        print(f"custompass: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WaitTimeout as exc:
        print(f"custompass: {exc}", file=sys.stderr)
        if exc.task is not None:
            show(exc.task, args.json)
        return EXIT_TIMEOUT
    except ApiError as exc:
        print(f"custompass: {exc.status} {exc.code}: {exc.message}", file=sys.stderr)
        if args.json:
            print(json.dumps(exc.body if exc.body is not None else {"code": exc.code, "message": exc.message}))
        return EXIT_API_ERROR
    except TransportError as exc:
        print(f"custompass: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    show(answer, args.json)
    return EXIT_TASK_FAILED if isinstance(answer, Task) and answer.failed and args.command in ("submit", "watch") else EXIT_OK
