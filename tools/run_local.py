"""`make run`: the whole CustomPass system on this machine, seeded with a demo; `make stop` ends it.

    python -m tools.run_local                   # start everything, print how to use it; Ctrl-C stops it
    python -m tools.run_local --stop            # from another terminal: stop what a run started
    python -m tools.run_local --status          # each process's state and restarts (make status)
    python -m tools.run_local --restart NAME    # restart one process (make restart SERVICE=NAME)

A process that exits unexpectedly (the stand-ins too) is restarted with backoff while the others
keep serving, and given up on after repeated failures (tools/supervisor.py; docs/local-stack.md).

Kafka and MongoDB are the local stand-ins of tools/devinfra.py, unless KAFKA_BOOTSTRAP_SERVERS /
MONGODB_URL name servers to use instead. The stand-in MongoDB keeps its data in <run>/mongo-data,
so users and money survive a restart. Everything a run writes lives in the run folder
(CUSTOMPASS_RUN_DIR, default .run/): logs/<name>.log (earlier runs' rotated to <name>.log.1 .. .3),
pids/<name>.pid, status.json and control/ (the supervisor's), admin-token, callback-signing-secret,
task-receipt-signing-key, user-ref-secret, demo.json. The mock upstream serves a sample image for the demo's typed task,
and this run alone allow-lists its host in OUTBOUND_URL_ALLOWLIST: the demo works offline, the
product's default stays strict.

Ports: GATEWAY_PORT 8080, BILLING_PORT 8081, POLLER_PORT 8082, SETTLEMENT_PORT 8083,
MOCK_UPSTREAM_PORT 9100, LOCAL_KAFKA_PORT 9092, LOCAL_MONGO_PORT 27017. A busy port stops the
start with a message naming the variable to set; we never pick another port silently, because
the printed commands and the demo channel's base_url must stay the same from run to run.

`make stop`, `make status` and `make restart` run this on the system python, so only the start
path imports httpx.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from services.gateway.task_api.examples import EXAMPLE_TASK_TYPES
from tools import devinfra, supervisor

ROOT = Path(__file__).resolve().parent.parent
# name -> (module, port variable, default port, readiness path); started in this order.
SERVICES = {
    "mock_upstream": ("tools.mock_upstream", "MOCK_UPSTREAM_PORT", 9100, "/_mock/stats"),
    "billing": ("services.billing", "BILLING_PORT", 8081, "/readyz"),
    "gateway": ("services.gateway", "GATEWAY_PORT", 8080, "/readyz"),
    "poller": ("services.poller", "POLLER_PORT", 8082, "/readyz"),
    "settlement": ("services.settlement", "SETTLEMENT_PORT", 8083, "/readyz"),
}
INFRA = {"kafka": ("KAFKA_BOOTSTRAP_SERVERS", "LOCAL_KAFKA_PORT", 9092),
         "mongo": ("MONGODB_URL", "LOCAL_MONGO_PORT", 27017)}
SUPERVISOR = "run_local"  # this process's own pid file: what `--stop` signals first
READY_TIMEOUT_S = 120.0
KEPT_LOGS = 3  # earlier runs' service logs kept beside this run's: <name>.log.1 (the last) .. .3
# Shorter consumer-group timings than the services' defaults (a join takes about half the session
# timeout), as the test harness uses: `make run` is ready in seconds. The environment overrides.
LOCAL_DEFAULTS = {"KAFKA_SESSION_TIMEOUT_MS": "3000", "KAFKA_HEARTBEAT_INTERVAL_MS": "500"}
DEMO_QUOTA = 1000
# Seeding runs right after a start, when a restarted stack may still be catching up (sweeps,
# consumer groups rejoining): each request may take this long.
SEED_TIMEOUT_S = 60.0
READY_LINE = "CustomPass is running. Ctrl-C here or `make stop` elsewhere stops it."


class StartupError(Exception):
    """A start that cannot go on; the message tells the user what to do."""


def run_dir() -> Path:
    return Path(os.environ.get("CUSTOMPASS_RUN_DIR") or ROOT / ".run").resolve()


def port(var: str, default: int) -> int:
    return int(os.environ.get(var) or default)


# --- pid files -------------------------------------------------------------------------------
def _proc_start(pid: int) -> str:
    """The kernel's start time of `pid` ("" without /proc, or for a zombie). Stored next to the
    PID so a stale file never names a stranger that has since been given the same PID."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return "" if fields[0] == "Z" else fields[19]


def record_pid(pids: Path, name: str, pid: int) -> None:
    (pids / f"{name}.pid").write_text(f"{pid} {_proc_start(pid)}\n")


def recorded_pid(path: Path) -> int | None:
    """The PID in `path` if that very process still runs; None for a stale or missing file."""
    try:
        pid_text, _, start = path.read_text().strip().partition(" ")
        pid = int(pid_text)
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid if _proc_start(pid) == start else None


def stop_recorded(pids: Path) -> list[str]:
    """Stops every recorded process group: services first (their SIGTERM shutdown still talks to
    Kafka and MongoDB), then the infrastructure. Returns the names that were running."""
    files = {p.stem: p for p in pids.glob("*.pid") if p.stem != SUPERVISOR}
    stopped = []
    for group in ([n for n in files if n not in INFRA], [n for n in files if n in INFRA]):
        running = {n: pid for n in group if (pid := recorded_pid(files[n]))}
        with ThreadPoolExecutor(max(1, len(running))) as pool:  # each may take its 10 s grace
            list(pool.map(devinfra.stop_pid, running.values()))
        for name in group:
            files[name].unlink(missing_ok=True)
        stopped += list(running)
    return stopped


def stop_command() -> int:
    pids = run_dir() / "pids"
    supervisor = recorded_pid(pids / f"{SUPERVISOR}.pid")
    if supervisor:  # it stops its own children in order and exits
        os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while recorded_pid(pids / f"{SUPERVISOR}.pid") and time.monotonic() < deadline:
            time.sleep(0.1)
    leftovers = stop_recorded(pids)  # e.g. orphans of a supervisor that was SIGKILLed
    print("stopped" if supervisor or leftovers else "nothing was running")
    return 0


# --- start-up --------------------------------------------------------------------------------
def port_free(number: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(("0.0.0.0", number))
        except OSError:
            return False
    return True


def check_ports(wanted: dict[str, int]) -> None:
    busy = [f"{number} ({var})" for var, number in wanted.items() if not port_free(number)]
    if busy:
        raise StartupError(f"port(s) already in use: {', '.join(busy)}. Set the variable(s) to a free "
                           "port, or stop what listens there (an earlier run: `make stop`).")


def start_infra(run: Path, pids: Path) -> dict[str, str]:
    """KAFKA_BOOTSTRAP_SERVERS and MONGODB_URL: from the environment, else a stand-in started here."""
    env = {var: os.environ[var] for var, _, _ in INFRA.values() if os.environ.get(var)}
    state = run / "infra"  # devinfra's logs and its own pid files
    state.mkdir(parents=True, exist_ok=True)
    for name, (var, _, _) in INFRA.items():
        if var not in env:
            devinfra.install()
            env[var] = start_standin(name, run, pids)[1]
    return env


def start_standin(name: str, run: Path, pids: Path) -> tuple[int, str]:
    """Starts the Kafka or MongoDB stand-in on its port; its pid and address."""
    state, (_, port_var, default) = run / "infra", INFRA[name]
    (state / f"{name}.pid").unlink(missing_ok=True)  # only adopt a pid written just now
    try:
        if name == "kafka":
            address = devinfra.start_kafka(state, port(port_var, default))
        else:
            address = devinfra.start_mongo(state, port(port_var, default), str(run / "mongo-data"))
    finally:  # adopt it even when it never became ready, so the clean-up stops it
        if (state / f"{name}.pid").exists():
            record_pid(pids, name, int((state / f"{name}.pid").read_text()))
            (state / f"{name}.pid").unlink()
    return recorded_pid(pids / f"{name}.pid") or 0, address


def kept_secret(run: Path, variable: str, file_name: str, prefix: str = "") -> str:
    """The variable's value from the environment, else a generated one kept in the run folder
    (owner-only) so restarts keep it."""
    if os.environ.get(variable):
        return os.environ[variable]
    path = run / file_name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # a secret: owner only
        os.write(fd, f"{prefix}{secrets.token_urlsafe(24)}\n".encode())
        os.close(fd)
    return path.read_text().strip()


def admin_token(run: Path) -> str:
    return kept_secret(run, "CUSTOMPASS_ADMIN_TOKEN", "admin-token", "demo-admin-")


def service_secrets(run: Path) -> dict[str, str]:
    """The admin token, and the keys callbacks and task receipts are signed with and user refs are
    made with: never empty, even in development."""
    return {"CUSTOMPASS_ADMIN_TOKEN": admin_token(run),
            "CALLBACK_SIGNING_SECRET": kept_secret(run, "CALLBACK_SIGNING_SECRET", "callback-signing-secret"),
            "TASK_RECEIPT_SIGNING_KEY": kept_secret(run, "TASK_RECEIPT_SIGNING_KEY", "task-receipt-signing-key"),
            "USER_REF_SECRET": kept_secret(run, "USER_REF_SECRET", "user-ref-secret")}


def rotate_logs(logs: Path, names: list[str], keep: int = KEPT_LOGS) -> None:
    """<name>.log -> <name>.log.1 -> ... -> <name>.log.<keep>, the oldest dropped: each run writes a
    fresh log (its tail is this run's), and the run before a crash or a restart is still there."""
    for name in names:
        current = logs / f"{name}.log"
        if not current.exists():
            continue
        for older in range(keep - 1, 0, -1):
            if (logs / f"{name}.log.{older}").exists():
                (logs / f"{name}.log.{older}").replace(logs / f"{name}.log.{older + 1}")
        current.replace(logs / f"{name}.log.1")


def spawn(name: str, module: str, env: dict[str, str], run: Path) -> subprocess.Popen:
    with open(run / "logs" / f"{name}.log", "ab") as log:  # the last run's rotated away; a restart appends
        proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT,
                                env={**LOCAL_DEFAULTS, **os.environ, **env}, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # own group: stop_pid signals the group
    record_pid(run / "pids", name, proc.pid)
    return proc


def log_tail(run: Path, name: str, lines: int = 30) -> str:
    for path in (run / "logs" / f"{name}.log", run / "infra" / f"{name}.log"):
        if path.exists():
            text = path.read_text(errors="replace").splitlines()[-lines:]
            return f"--- last lines of {path} ---\n" + "\n".join(text)
    return f"(no log for {name})"


def migrate(env: dict[str, str]) -> None:
    """Applies pending MongoDB migrations (tools/migrate) before the services start, as an upgrade
    does (docs/operations.md#upgrades): the stand-in keeps its data from run to run."""
    import asyncio

    from shared.settings import CommonSettings
    from tools.migrate.__main__ import run as run_migrations

    settings = CommonSettings(mongodb_url=env["MONGODB_URL"])
    if asyncio.run(run_migrations(settings, show_status=False, dry_run=False)) != 0:
        raise StartupError("the MongoDB migrations did not apply (above); `python -m tools.migrate --status` lists them")


def wait_ready(procs: dict[str, subprocess.Popen], urls: dict[str, str], run: Path) -> None:
    import httpx

    waiting, deadline = set(procs), time.monotonic() + READY_TIMEOUT_S
    while waiting:
        for name in sorted(waiting):
            if procs[name].poll() is not None:
                raise StartupError(f"{name} exited with code {procs[name].returncode} during start-up\n"
                                   + log_tail(run, name))
            try:
                if httpx.get(urls[name], timeout=1.0).status_code == 200:
                    waiting.discard(name)
            except httpx.HTTPError:
                pass  # not listening yet
        if waiting and time.monotonic() > deadline:
            raise StartupError(f"not ready after {READY_TIMEOUT_S:.0f}s: {', '.join(sorted(waiting))}\n"
                               + "\n".join(log_tail(run, n) for n in sorted(waiting)))
        time.sleep(0.2 if waiting else 0)


# --- demo ------------------------------------------------------------------------------------
def demo_channels(mock_url: str) -> list[dict]:
    upstream = {"base_url": mock_url, "api_key": "demo-upstream-key"}
    return [
        {"name": "demo-mock", "kind": "custompass_async", **upstream, "poll_interval_s": 1,
         "models": ["demo-video", "demo-video/submit"], "billing": {"mode": "per_call", "price": 10}},
        {"name": "demo-chat", "kind": "custompass_sync", **upstream, "models": ["demo-chat"],
         "billing": {"mode": "per_usage", "price": 1}},
        {"name": "demo-worker", "kind": "worker", "group": "default", "models": ["default"],
         "billing": {"mode": "free"}},
        {"name": "demo-typed", "kind": "custompass_async", **upstream, "poll_interval_s": 1,
         "models": [f"{t['model']}/submit" for t in EXAMPLE_TASK_TYPES], "billing": {"mode": "per_call", "price": 1}},
    ]


def seed_demo(gateway: str, token: str, mock_url: str, path: Path) -> dict:
    """Creates only what is missing (ids remembered in demo.json), so a restart changes nothing and
    a wiped database is re-seeded. The top-up's fixed request_id credits each user exactly once.
    A demo channel is the one whose id demo.json remembers, else one of its name and kind: a channel
    an admin made with a demo name (another kind, or a second one) is left alone."""
    import httpx

    demo = json.loads(path.read_text()) if path.exists() else {}
    with httpx.Client(base_url=gateway, headers={"Authorization": f"Bearer {token}"},
                      timeout=SEED_TIMEOUT_S) as api:
        def call(method: str, url: str, **kwargs) -> dict | list:
            reply = api.request(method, url, **kwargs)
            if reply.is_error:
                raise StartupError(f"seeding the demo: {method} {url} -> {reply.status_code} {reply.text}")
            return reply.json()

        remembered = demo.get("channels") or {}
        if not demo.get("user_id") or api.get(f"/admin/users/{demo['user_id']}").status_code == 404:
            demo = {"user_id": call("POST", "/admin/users", json={"name": "demo"})["id"]}
        user = demo["user_id"]
        key = demo.get("api_key")
        if not key or api.get("/api/wallet", headers={"Authorization": f"Bearer {key}"}).is_error:
            demo["api_key"] = call("POST", f"/admin/users/{user}/api-keys", json={"name": "demo"})["key"]
        call("POST", f"/admin/users/{user}/topup", json={"amount": DEMO_QUOTA, "request_id": "demo-quota"})
        if not demo.get("worker_token"):  # a token cannot be read back: kept with the demo user it was made for
            demo["worker_token"] = call("POST", "/admin/worker-tokens", json={"group": "default"})["token"]
        existing = call("GET", "/admin/channels", params={"limit": 500})
        demo["channels"] = {}
        for spec in demo_channels(mock_url):
            found = demo_channel(existing, spec, remembered.get(spec["name"])) or call(
                "POST", "/admin/channels", json=spec)
            if "base_url" in spec and found.get("base_url") != spec["base_url"]:  # the mock moved to another port
                found = call("PUT", f"/admin/channels/{found['id']}", json={"base_url": spec["base_url"]})
            demo["channels"][spec["name"]] = found["id"]
        for example in EXAMPLE_TASK_TYPES:  # the Task API's seed products; an admin's edits are kept
            if api.get(f"/admin/task-types/{example['type']}").status_code == 404:
                call("POST", "/admin/task-types", json=example)
    path.write_text(json.dumps(demo, indent=2) + "\n")
    return demo


def demo_channel(existing: list[dict], spec: dict, remembered_id: str | None) -> dict | None:
    """The channel seeded for `spec` earlier: by the id demo.json remembers, else the first of its
    name and kind (demo.json lost, the database kept)."""
    by_id = {c["id"]: c for c in existing}
    if remembered_id in by_id and by_id[remembered_id]["kind"] == spec["kind"]:
        return by_id[remembered_id]
    return next((c for c in existing if c["name"] == spec["name"] and c["kind"] == spec["kind"]), None)


def seed_demo_or_warn(gateway: str, token: str, mock_url: str, path: Path) -> dict:
    """The demo, seeded; a seeding that fails never stops the stack, which is running and usable
    with the admin token: it warns, and the ready block shows what an earlier run seeded, if any."""
    try:
        return seed_demo(gateway, token, mock_url, path)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the services are up
        print(f"run_local: WARNING: seeding the demo failed, the services keep running without a fresh demo: "
              f"{exc!r}", file=sys.stderr, flush=True)
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}


# Pasted into bash, each printed command answers 2xx; curl's --fail-with-body makes an error answer
# a failed command that still shows its body, and python3 (on every machine that runs `make run`;
# jq often is not) reads the ids that later commands use.
CURL = "curl -sS --fail-with-body -w '\\n'"
TASK_ID = """python3 -c 'import json,sys; print(json.load(sys.stdin)["task_id"])'"""
TYPED_TASK_ID = """python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["taskId"])'"""
PASTE_LINE = "  Try it: paste these lines into bash, in order (later ones use the variables earlier ones set)."
SAMPLE_IMAGE_PATH = "/_mock/sample.png"


def sample_image_url(mock_url: str) -> str:
    return mock_url + SAMPLE_IMAGE_PATH


def demo_allowlist(mock_url: str) -> str:
    """OUTBOUND_URL_ALLOWLIST for this run only: the operator's entries plus the mock upstream's
    host, so the demo's inputImageUrl (the mock's sample image) passes offline. The policy admits
    hosts and networks, not ports: this admits 127.0.0.1, which `make run` binds to anyway."""
    host = mock_url.split("//", 1)[1].rsplit(":", 1)[0]
    return ",".join(e for e in (os.environ.get("OUTBOUND_URL_ALLOWLIST", ""), f"{host}/32") if e)


def demo_commands(gateway: str, token: str, demo: dict, mock_url: str) -> list[str]:
    """The lines to paste, without indentation: shell variables first, then each call."""
    missing = "not-seeded-see-the-warning-above"
    key, user, worker_token = (demo.get(f, missing) for f in ("api_key", "user_id", "worker_token"))
    as_user, as_admin, json_body = '-H "Authorization: Bearer $KEY"', '-H "Authorization: Bearer $ADMIN"', \
        "-H 'Content-Type: application/json'"
    worker = " ".join(shlex.quote(str(p)) for p in (sys.executable, ROOT / "examples" / "worker-python.py"))
    typed = json.dumps({"type": "basic_clean", "inputImageUrl": sample_image_url(mock_url),
                        "params": {"template": "all"}}, separators=(",", ":"))
    return [
        f"GATEWAY={gateway} KEY={key} ADMIN={token}",
        "# submit a demo video task, keeping its id in $TASK. The mock upstream obeys a \"mock\" field",
        "# in the body: '{\"prompt\":\"a cat\",\"mock\":{\"outcome\":\"fail\"}}' makes the task fail",
        "# (outcomes: success, fail, never, error, http_error, malformed; tools/mock_upstream/scenario.py)",
        f"TASK=$({CURL} -X POST $GATEWAY/pass/demo-video/submit {as_user} {json_body} "
        f"-d '{{\"prompt\":\"a cat\"}}' | {TASK_ID}); echo $TASK",
        "# fetch it (it succeeds after a poll or two: fetch again to see the result)",
        f"{CURL} $GATEWAY/pass/demo-video/task/$TASK/fetch {as_user}",
        "# the example worker in the background (group default); a task for it, retried until the",
        "# worker is online (503 until then), answers with its result; then the worker stops",
        f"CUSTOMPASS_WS_URL={gateway.replace('http://', 'ws://')}/ws CUSTOMPASS_WORKER_TOKEN={worker_token} "
        f"{worker} & WORKER=$!",
        f"{CURL} --retry 10 --retry-delay 1 -X POST $GATEWAY/api/openai {as_user} {json_body} "
        "-d '{\"data\":{\"prompt\":\"hello\"}}'",
        "kill $WORKER",
        "# a typed task of the Task API (basic_clean or model_pose12) on the mock's sample image, its state",
        f"TYPED=$({CURL} -X POST $GATEWAY/api/task/create {as_user} {json_body} -d '{typed}' "
        f"| {TYPED_TASK_ID}); echo $TYPED",
        f"{CURL} $GATEWAY/api/task/$TYPED {as_user}",
        'echo "in a browser: $GATEWAY/task/$TYPED#token=$KEY"',
        "# your wallet, as the demo user",
        f"{CURL} $GATEWAY/api/wallet {as_user}",
        "# the same wallet, as the admin",
        f"{CURL} $GATEWAY/admin/users/{user}/wallet {as_admin}",
    ]


def ready_block(gateway: str, token: str, demo: dict, run: Path, mock_url: str) -> str:
    missing = "<not seeded, see the warning above>"
    kept = "" if os.environ.get("CUSTOMPASS_ADMIN_TOKEN") else f"   (generated, kept in {run}/admin-token)"
    return "\n".join([
        "", READY_LINE,
        f"  Gateway:       {gateway}",
        f"  Admin token:   {token}{kept}",
        f"  Demo user:     {demo.get('user_id', missing)}",
        f"  Demo API key:  {demo.get('api_key', missing)}",
        f"  Worker token:  {demo.get('worker_token', missing)}   (group default)",
        f"  Logs:          {run / 'logs'}/   (earlier runs' in <name>.log.1 .. .{KEPT_LOGS})",
        "  Processes:     restarted when they exit; `make status`, `make restart SERVICE=<name>`",
        f"  Sample image:  {sample_image_url(mock_url)}",
        "",
        PASTE_LINE,
        *(f"  {line}" for line in demo_commands(gateway, token, demo, mock_url)),
        "",
    ])


def supervise(run: Path, env: dict[str, str], urls: dict[str, str]) -> None:
    """Restarts what exits until SIGINT/SIGTERM; the stand-ins only if this run started them.
    A broker restart loses every topic and consumer group (Tansu keeps nothing), so the services
    that use Kafka are restarted after it: they create their topics and join their groups again."""
    import httpx

    pids = run / "pids"

    def ready(url: str):
        def check() -> bool:
            try:
                return httpx.get(url, timeout=0.5).status_code == 200
            except httpx.HTTPError:
                return False
        return check

    children = [supervisor.Child(name, lambda n=name: start_standin(n, run, pids)[0])
                for name in INFRA if (pids / f"{name}.pid").exists()]
    children += [supervisor.Child(name, lambda n=name, m=module: spawn(n, m, env, run).pid, ready(urls[name]))
                 for name, (module, *_) in SERVICES.items()]
    for child in children:  # one that died since it was started (e.g. while the demo was seeded) starts again
        child.pid = recorded_pid(pids / f"{child.name}.pid")
        child.state = supervisor.RUNNING if child.pid else supervisor.WAITING
    kafka_users = [name for name in SERVICES if name != "mock_upstream"]
    supervisor.Supervisor(children, run, log=lambda line: print(line, file=sys.stderr, flush=True),
                          after_restart=lambda name: kafka_users if name == "kafka" else []).run()


def status_command() -> int:
    run = run_dir()
    status = supervisor.read_status(run)
    if not recorded_pid(run / "pids" / f"{SUPERVISOR}.pid") or status is None:
        print("not running (`make run` starts it)")
        return 1
    print(supervisor.render_status(status))
    return 0


def restart_command(name: str) -> int:
    run = run_dir()
    status = supervisor.read_status(run)
    if not recorded_pid(run / "pids" / f"{SUPERVISOR}.pid") or status is None:
        print("not running (`make run` starts it)", file=sys.stderr)
        return 1
    if name not in status["processes"]:
        print(f"no process {name!r}; one of: {', '.join(status['processes'])}", file=sys.stderr)
        return 2
    try:
        child = supervisor.request_restart(run, name)
    except TimeoutError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{name}: {child['state']} (pid {child['pid']}, restarts {child['restarts']})")
    return 0 if child["state"] == supervisor.RUNNING else 1


def _reap_children() -> None:
    """Reaps children as they exit: a zombie still answers kill(pid, 0), so stop_pid would wait
    out its whole grace period for a process that is already dead. Ends when none is left."""
    with contextlib.suppress(ChildProcessError):
        while True:
            os.wait()


def start() -> int:
    run = run_dir()
    pids = run / "pids"
    for folder in (pids, run / "logs"):
        folder.mkdir(parents=True, exist_ok=True)
    if (other := recorded_pid(pids / f"{SUPERVISOR}.pid")):
        print(f"already running (pid {other}); `make stop` first", file=sys.stderr)
        return 1
    if (leftovers := stop_recorded(pids)):  # orphans of a run that was SIGKILLed hold the ports
        print(f"stopped leftovers of an earlier run: {', '.join(leftovers)}")
    record_pid(pids, SUPERVISOR, os.getpid())
    ports = {var: port(var, default) for _, var, default, _ in SERVICES.values()}
    try:
        # SIGTERM stops us like Ctrl-C; Ctrl-C too when our parent ignored it (a shell's background
        # job starts with SIGINT ignored, and Python then keeps it ignored).
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.default_int_handler)
        check_ports({**ports, **{pv: port(pv, d) for v, pv, d in INFRA.values() if not os.environ.get(v)}})
        gateway = f"http://127.0.0.1:{ports['GATEWAY_PORT']}"
        mock_url = f"http://127.0.0.1:{ports['MOCK_UPSTREAM_PORT']}"
        env = {**start_infra(run, pids), **service_secrets(run),
               **{var: str(number) for var, number in ports.items()},
               "OUTBOUND_URL_ALLOWLIST": demo_allowlist(mock_url)}
        rotate_logs(run / "logs", list(SERVICES))
        migrate(env)
        procs = {name: spawn(name, module, env, run) for name, (module, *_) in SERVICES.items()}
        urls = {n: f"http://127.0.0.1:{ports[v]}{path}" for n, (_, v, _, path) in SERVICES.items()}
        wait_ready(procs, urls, run)
        demo = seed_demo_or_warn(gateway, env["CUSTOMPASS_ADMIN_TOKEN"], mock_url, run / "demo.json")
        print(ready_block(gateway, env["CUSTOMPASS_ADMIN_TOKEN"], demo, run, mock_url), flush=True)
        supervise(run, env, urls)
        return 0
    except KeyboardInterrupt:
        return 0
    except (StartupError, TimeoutError, RuntimeError) as exc:
        print(f"run_local: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not strand half the processes
            signal.signal(sig, signal.SIG_IGN)
        print("stopping...", flush=True)
        threading.Thread(target=_reap_children, daemon=True).start()
        stop_recorded(pids)
        (pids / f"{SUPERVISOR}.pid").unlink(missing_ok=True)
        (run / supervisor.STATUS_FILE).unlink(missing_ok=True)
        print("stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.run_local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stop", action="store_true", help="stop what a run started (make stop)")
    parser.add_argument("--status", action="store_true", help="each process's state and restarts (make status)")
    parser.add_argument("--restart", metavar="NAME", help="restart one process of a run (make restart SERVICE=NAME)")
    args = parser.parse_args(argv)
    if args.stop:
        sys.exit(stop_command())
    sys.exit(status_command() if args.status else restart_command(args.restart) if args.restart else start())


if __name__ == "__main__":
    main()
