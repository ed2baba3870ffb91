"""The single-server recipe (deploy/compose), checked offline against the Compose Specification
and against the code it runs: each service's settings, pinned images, the secrets of .env.example,
the proxy's and Prometheus's view of the services, and the alert rules generated from
deploy/k8s. Where a Docker engine answers, the stack is brought up and runs the quickstart.

The schema is the Compose Specification's own JSON schema as check-jsonschema (a dev dependency)
vendors it. Compose validates a file after interpolating its variables, so the file is
interpolated here first, with .env.example's values and made-up secrets."""
from __future__ import annotations

import functools
import importlib.util
import json
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import tomllib
from importlib.resources import files
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from shared.settings import CommonSettings
from tests.deploy.test_manifests import ROOT, SERVICES, setting_names, settings_class

COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
# The mock upstream of `make run`, added to the stack only by the Docker test below.
MOCK_UPSTREAM_FILE = Path(__file__).with_name("compose.mock-upstream.yaml")
# Variables whose values are secrets, by the names this project gives them.
SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|_KEY)$")
# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME.
VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
                      r"|(?P<bare>[A-Za-z_]\w*))")


class MissingVariable(Exception):
    """A required variable (${NAME:?...}) is unset or empty: compose refuses the file."""


@functools.cache
def parsed(path: Path):
    """A compose file as YAML gives it (anchors merged), before interpolation."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def references(path: Path) -> dict[str, set[str]]:
    """Each variable a compose file reads (comments aside), with how: '' (plain), ':-', '-', ':?'
    or '?'; a default or an error text is in `arg` of each use."""
    found: dict[str, set[str]] = {}
    for text in strings(parsed(path)):
        for match in VARIABLE.finditer(text):
            if name := match["name"] or match["bare"]:
                found.setdefault(name, set()).add(match["op"] or "")
    return found


def defaults(path: Path, name: str) -> set[str]:
    return {match["arg"] for text in strings(parsed(path))
            for match in VARIABLE.finditer(text) if match["name"] == name and match["op"] == ":-"}


def interpolate(value, env: dict[str, str]):
    """Compose's interpolation of every string in a loaded file (keys included)."""
    if isinstance(value, dict):
        return {interpolate(k, env): interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"] or match["bare"], match["op"], match["arg"]
        present = name in env and (env[name] != "" or not (op or "").startswith(":"))
        if op in (":?", "?") and not present:
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and not present:
            return arg
        return env.get(name, "")

    return VARIABLE.sub(substitute, value)


def filled_env() -> dict[str, str]:
    """.env.example with every empty value made up, as an operator's .env would have it."""
    env = read_env_file(ENV_EXAMPLE)
    return {name: value or secrets.token_hex(32) for name, value in env.items()}


def load(path: Path, env: dict[str, str]) -> dict:
    return interpolate(parsed(path), env)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load(COMPOSE_FILE, filled_env())


@pytest.fixture(scope="module")
def compose_schema() -> dict:
    return json.loads((files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())


def service_running(service: dict) -> str | None:
    """The CustomPass service a compose service runs (its command is `services.<name>`), if any."""
    command = service.get("command") or []
    match = re.fullmatch(r"services\.(\w+)", command[0]) if len(command) == 1 else None
    return match[1] if match else None


def custompass_services(compose: dict) -> dict[str, str]:
    return {name: running for name, service in compose["services"].items()
            if (running := service_running(service))}


def schema_errors(document: dict, schema: dict) -> list[str]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("path", [COMPOSE_FILE, MOCK_UPSTREAM_FILE], ids=lambda p: p.name)
def test_compose_files_are_valid_compose_specification(path, compose_schema):
    assert schema_errors(load(path, filled_env()), compose_schema) == []


def test_schema_check_refuses_what_compose_refuses(compose, compose_schema):
    broken = {**compose, "services": {**compose["services"], "kafka": {**compose["services"]["kafka"], "imag": "x"}}}
    assert schema_errors(broken, compose_schema), "the schema accepted an unknown service field"


def test_every_variable_is_listed_in_env_example_and_no_other():
    used = set(references(COMPOSE_FILE))
    listed = set(read_env_file(ENV_EXAMPLE))
    assert used - listed == set(), "variables compose.yaml reads that .env.example does not list"
    assert listed - used == set(), ".env.example lists variables compose.yaml never reads"


def test_secrets_have_no_value_in_env_example_and_no_default_in_compose():
    used = references(COMPOSE_FILE)
    example = read_env_file(ENV_EXAMPLE)
    found = sorted(name for name in used if SECRET_NAME.search(name))
    assert {"CUSTOMPASS_ADMIN_TOKEN", "MONGO_APP_PASSWORD", "MONGO_REPLICA_SET_KEY"} <= set(found)
    for name in found:
        assert example[name] == "", f".env.example gives secret {name} a value"
        # Required: ${NAME:?...}; optional: only an empty default (${NAME:-}), never a value.
        assert used[name] <= {":?", ":-"}, f"{name} is read as {used[name]}"
        assert defaults(COMPOSE_FILE, name) <= {""}, f"{name} has a default value"


def test_compose_refuses_to_start_while_a_required_secret_is_empty():
    example = read_env_file(ENV_EXAMPLE)
    required = sorted(name for name, ops in references(COMPOSE_FILE).items()
                      if ":?" in ops and SECRET_NAME.search(name))
    for name in required:
        env = {**filled_env(), name: example[name]}
        with pytest.raises(MissingVariable, match=name):
            load(COMPOSE_FILE, env)


def test_each_custompass_service_is_given_only_settings_it_knows(compose):
    running = custompass_services(compose)
    assert sorted(set(running.values())) == SERVICES
    for name, service in running.items():
        given = set(compose["services"][name].get("environment", {}))
        unknown = given - setting_names(settings_class(service))
        assert unknown == set(), f"{name}: {sorted(unknown)} are no settings of services.{service}"


def test_two_gateways_behind_the_proxy_and_every_process_scraped(compose):
    running = custompass_services(compose)
    gateways = sorted(name for name, service in running.items() if service == "gateway")
    assert len(gateways) >= 2
    caddyfile = (COMPOSE_DIR / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)[1].split()
    assert sorted(upstreams) == [f"{name}:{settings_class('gateway').model_fields['gateway_port'].default}"
                                 for name in gateways]
    scrape = yaml.safe_load((COMPOSE_DIR / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for group in job["static_configs"] for t in group["targets"]}
    for name, service in running.items():
        port = settings_class(service).model_fields[f"{service}_port"].default
        assert f"{name}:{port}" in targets, f"Prometheus does not scrape {name}"


def test_every_one_shot_is_awaited_by_a_long_running_service(compose):
    """`up --wait` counts an exited container as a failure unless a service waits for it with
    service_completed_successfully, so every one-shot (restart "no") needs such a dependant."""
    services = compose["services"]
    one_shots = {name for name, service in services.items() if service.get("restart") == "no"}
    assert {"mongo-keyfile", "mongo-init", "prometheus-rules"} <= one_shots
    for name in one_shots:
        assert any(service.get("depends_on", {}).get(name, {}).get("condition") == "service_completed_successfully"
                   for other, service in services.items() if other not in one_shots), f"nothing waits for {name}"


def test_migrations_apply_before_every_custompass_service_starts(compose):
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["tools.migrate"] and migrate["restart"] == "no"
    assert set(migrate["environment"]) <= setting_names(CommonSettings)  # tools.migrate reads CommonSettings
    assert migrate["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"
    for name in custompass_services(compose):
        assert compose["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_image_is_pinned_by_version(compose):
    for name, service in compose["services"].items():
        image = service.get("image", "")
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.fullmatch(r"v?\d+(\.\d+)+", tag), f"{name}: {image!r} is not a version"


def test_images_are_the_versions_of_deploy_k8s_and_the_project(compose):
    images = {service["image"].rpartition(":")[0]: service["image"].rpartition(":")[2]
              for service in compose["services"].values()}
    kafka = [doc for doc in yaml.safe_load_all((ROOT / "deploy/k8s/overlays/dev/kafka.yaml").read_text())
             if doc["kind"] == "Kafka"][0]
    assert images["apache/kafka"] == kafka["spec"]["kafka"]["version"]
    mongodb = (ROOT / "deploy/k8s/overlays/dev/mongodb.yaml").read_text()
    assert f"image: mongo:{images['mongo']}" in mongodb
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert images["custompass"] == project


def test_mounted_files_exist(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), f"{name} mounts missing {source}"


def test_alert_rules_are_generated_from_the_prometheus_rule(tmp_path):
    source = ROOT / "deploy" / "k8s" / "base" / "prometheusrule.yaml"
    target = tmp_path / "custompass.yml"
    spec = importlib.util.spec_from_file_location("rules_from_k8s", COMPOSE_DIR / "prometheus" / "rules_from_k8s.py")
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    converter.main(str(source), str(target))  # what the prometheus-rules service runs
    rules = yaml.safe_load(target.read_text())
    assert list(rules) == ["groups"]
    assert rules["groups"] == yaml.safe_load(source.read_text())["spec"]["groups"]
    assert all("alert" in rule and "expr" in rule for group in rules["groups"] for rule in group["rules"])


def test_grafana_loads_the_dashboards_of_deploy_grafana(compose):
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    provider = yaml.safe_load((COMPOSE_DIR / "grafana/provisioning/dashboards/custompass.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert (COMPOSE_DIR / {target: source for source, target in mounts.items()}[path]).resolve() == \
        ROOT / "deploy" / "grafana"


# --- with a Docker engine only ----------------------------------------------------------------------

def docker_compose() -> list[str]:
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "info"], capture_output=True, timeout=60).returncode:
        pytest.skip("no Docker engine (`docker info` fails): the compose stack cannot be brought up here")
    if subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60).returncode:
        pytest.skip("Docker has no compose plugin (`docker compose version` fails)")
    return [docker, "compose"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(1)
    return result


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_stack_runs_the_quickstart(tmp_path):
    """Builds the image, brings the whole stack up with a generated .env, and follows one task of
    the README's walkthrough through Caddy's TLS (trusting only Caddy's own local CA)."""
    base = docker_compose()
    https_port = free_port()
    env = {**filled_env(), "CUSTOMPASS_DOMAIN": "localhost", "HTTP_PORT": str(free_port()),
           "HTTPS_PORT": str(https_port), "PROMETHEUS_PORT": str(free_port()), "GRAFANA_PORT": str(free_port()),
           "KAFKA_CLUSTER_ID": secrets.token_urlsafe(16)[:22], "WEBHOOK_SIGNING_SECRET": ""}
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    compose = [*base, "--project-name", f"custompass-test-{secrets.token_hex(4)}", "--env-file", str(env_file),
               "-f", str(COMPOSE_FILE), "-f", str(MOCK_UPSTREAM_FILE)]
    try:
        subprocess.run([*compose, "up", "-d", "--build", "--wait", "--wait-timeout", "900"], check=True, timeout=1500)
        ca = subprocess.run([*compose, "exec", "-T", "proxy", "cat", "/data/caddy/pki/authorities/local/root.crt"],
                            check=True, capture_output=True, text=True, timeout=60).stdout
        tls = ssl.create_default_context(cadata=ca)
        admin = {"Authorization": f"Bearer {env['CUSTOMPASS_ADMIN_TOKEN']}"}
        with httpx.Client(base_url=f"https://localhost:{https_port}", verify=tls, timeout=30) as http:
            wait_until(lambda: http.get("/readyz").status_code == 200, 120, "the gateways answer through Caddy")
            user = http.post("/admin/users", headers=admin, json={"name": "alice", "quota": 1000}).json()["id"]
            key = http.post(f"/admin/users/{user}/api-keys", headers=admin, json={"name": "k"}).json()["key"]
            channel = http.post("/admin/channels", headers=admin, json={
                "name": "mock", "kind": "custompass_async", "base_url": "http://mock-upstream:9100",
                "api_key": "any", "models": ["my-video"], "billing": {"mode": "per_call", "price": 10},
                "poll_interval_s": 1})
            assert channel.status_code == 201, channel.text
            caller = {"Authorization": f"Bearer {key}"}
            task = wait_until(lambda: (r := http.post("/pass/my-video/submit", headers=caller,
                                                      json={"prompt": "a cat"})).is_success and r.json(),
                              30, "the channel is in force and the submit is taken")["task_id"]
            wait_until(lambda: http.get(f"/pass/my-video/task/{task}/fetch", headers=caller).json()
                       .get("status") == "completed", 120, "the task completes")
            wait_until(lambda: http.get("/api/wallet", headers=caller).json().get("used") == 10, 60,
                       "settlement captures the hold")
    finally:
        subprocess.run([*compose, "down", "--volumes", "--remove-orphans"], timeout=300)
