"""The Kubernetes base (deploy/k8s/base) and the Dockerfile, checked against the code they deploy:
services and their ports, probes, settings names, secrets and the security context."""
from __future__ import annotations

import importlib
import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.settings import CommonSettings, CustomPassSettings

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "k8s" / "base"
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/__main__.py"))
UID = 10001
# Secrets a service refuses to start without in production: from a Secret key that must exist.
REQUIRED_SECRETS = {"CUSTOMPASS_ADMIN_TOKEN", "CALLBACK_SIGNING_SECRET", "USER_REF_SECRET"}
# Settings whose values are secrets: only ever from a Secret, never in the ConfigMap or a literal.
SECRET_SETTINGS = REQUIRED_SECRETS | {"MONGODB_URL", "TASK_API_JWT_SECRET", "TASK_API_SERVICE_TOKEN"}


def load_all(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def env_name(name: str, field) -> str:
    alias = field.validation_alias
    return (alias if isinstance(alias, str) else name).upper()


def settings_class(service: str) -> type[CommonSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    found = [cls for _, cls in inspect.getmembers(module, inspect.isclass)
             if issubclass(cls, CommonSettings) and cls.__module__ == module.__name__]
    assert len(found) == 1, f"services/{service}/settings.py: expected one settings class, found {found}"
    return found[0]


def setting_names(cls) -> set[str]:
    return {env_name(name, field) for name, field in cls.model_fields.items()}


KNOWN_SETTINGS = set().union(setting_names(CommonSettings), setting_names(CustomPassSettings),
                             *(setting_names(settings_class(s)) for s in SERVICES))


@pytest.fixture(scope="module")
def kustomization() -> dict:
    return yaml.safe_load((BASE / "kustomization.yaml").read_text())


@pytest.fixture(scope="module")
def objects(kustomization) -> list[dict]:
    # A missing file fails test_kustomization_resources_exist... by name, not every test here.
    return [doc for resource in kustomization["resources"] if (BASE / resource).is_file()
            for doc in load_all(BASE / resource)]


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def deployment_running(objects: list[dict], service: str) -> tuple[dict, dict]:
    wanted = ["python", "-m", f"services.{service}"]
    found = [(d, c) for d in of_kind(objects, "Deployment") for c in d["spec"]["template"]["spec"]["containers"]
             if c.get("command", []) + c.get("args", []) == wanted]
    assert len(found) == 1, f"expected one Deployment running {' '.join(wanted)}, found {len(found)}"
    return found[0]


def service_selecting(objects: list[dict], deployment: dict) -> dict:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    found = [s for s in of_kind(objects, "Service")
             if s["spec"].get("selector") and s["spec"]["selector"].items() <= labels.items()]
    assert len(found) == 1, f"{deployment['metadata']['name']}: expected one Service, found {len(found)}"
    return found[0]


def container_port(container: dict, port: int | str) -> int:
    """A port number, or the containerPort that a named port refers to."""
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    assert port in named, f"{container['name']}: no container port named {port!r}"
    return named[port]


def listen_port(service: str, container: dict) -> int:
    """The port the service's code listens on: its settings default, or the Deployment's override."""
    field = f"{service}_port"
    default = settings_class(service).model_fields[field].default
    override = {e["name"]: e.get("value") for e in container.get("env", [])}.get(field.upper())
    return int(override) if override is not None else default


def test_kustomization_resources_exist_and_exclude_the_example_secret(kustomization, objects):
    for resource in kustomization["resources"]:
        assert (BASE / resource).is_file(), f"kustomization lists missing file {resource}"
    assert (BASE / "secret.example.yaml").is_file()
    assert "secret.example.yaml" not in kustomization["resources"]
    assert not of_kind(objects, "Secret"), "no Secret may be committed into the kustomization"
    assert kustomization.get("labels") or kustomization.get("commonLabels"), "common labels expected"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_a_deployment_that_runs_it(objects, service):
    deployment, _ = deployment_running(objects, service)
    assert deployment["spec"]["selector"]["matchLabels"].items() <= \
        deployment["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("service", SERVICES)
def test_probes_and_service_target_the_port_the_service_listens_on(objects, service):
    deployment, container = deployment_running(objects, service)
    port = listen_port(service, container)
    assert port in [p["containerPort"] for p in container["ports"]]

    probes = {"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"}
    for probe, path in probes.items():
        if probe == "startupProbe" and probe not in container:
            continue
        http = container[probe]["httpGet"]
        assert http["path"] == path, f"{service} {probe}"
        assert container_port(container, http["port"]) == port, f"{service} {probe} port"

    svc = service_selecting(objects, deployment)
    for svc_port in svc["spec"]["ports"]:
        assert container_port(container, svc_port["targetPort"]) == port, f"{service} Service targetPort"
    public = svc["spec"].get("type", "ClusterIP") in {"LoadBalancer", "NodePort"}
    assert public == (service == "gateway"), f"only the gateway's Service is public ({service})"

    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_pods_outlive_the_graceful_shutdown_and_have_resources(objects):
    graceful_s = int(re.search(r"timeout_graceful_shutdown=(\d+)", (ROOT / "shared" / "service_main.py").read_text())[1])
    for deployment in of_kind(objects, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] > graceful_s, deployment["metadata"]["name"]
        # Kubernetes would otherwise inject <SERVICE>_PORT=tcp://... which can shadow a *_PORT setting.
        assert spec.get("enableServiceLinks") is False, deployment["metadata"]["name"]
        for container in containers(deployment):
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][kind].keys(), container["name"]


def test_every_container_is_non_root_with_a_read_only_root(objects):
    for deployment in of_kind(objects, "Deployment"):
        pod = deployment["spec"]["template"]["spec"].get("securityContext", {})
        for container in containers(deployment):
            effective = {**pod, **container.get("securityContext", {})}
            name = container["name"]
            assert effective.get("runAsNonRoot") is True, name
            assert effective.get("runAsUser") == UID, name
            assert effective.get("readOnlyRootFilesystem") is True, name
            assert effective.get("allowPrivilegeEscalation") is False, name
            assert "ALL" in effective.get("capabilities", {}).get("drop", []), name


def test_config_references_exist_and_name_real_settings(objects):
    configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(objects, "ConfigMap")}
    for data in configmaps.values():
        unknown = set(data) - KNOWN_SETTINGS
        assert not unknown, f"ConfigMap keys that no settings class reads: {sorted(unknown)}"
        assert not set(data) & SECRET_SETTINGS, "secrets belong in the Secret, not the ConfigMap"
    for deployment in of_kind(objects, "Deployment"):
        for container in containers(deployment):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, container["name"]
            for env in container.get("env", []):
                assert env["name"] in KNOWN_SETTINGS, f"{container['name']}: {env['name']} is no setting"
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    assert ref["key"] in configmaps.get(ref["name"], {}), f"{container['name']}: {ref}"


def test_secrets_come_from_secret_refs_documented_by_the_example(objects):
    example = {d["metadata"]["name"]: d.get("stringData", {}) | d.get("data", {})
               for d in load_all(BASE / "secret.example.yaml") if d["kind"] == "Secret"}
    for service in SERVICES:
        deployment, container = deployment_running(objects, service)
        env = {e["name"]: e for e in container.get("env", [])}
        needed = {"MONGODB_URL"} | (setting_names(settings_class(service)) & REQUIRED_SECRETS)
        for name in needed:
            assert name in env and "secretKeyRef" in env[name].get("valueFrom", {}), f"{service}: {name}"
            assert not env[name]["valueFrom"]["secretKeyRef"].get("optional"), f"{service}: {name} is required"
        for name, item in env.items():
            assert not (name in SECRET_SETTINGS and "value" in item), f"{service}: literal secret {name}"
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in example.get(ref["name"], {}), f"{service}: {ref} not in secret.example.yaml"


def test_every_deployment_uses_the_one_image_the_kustomization_tags(kustomization, objects):
    images = {c["image"] for d in of_kind(objects, "Deployment") for c in containers(d)}
    assert len(images) == 1
    assert images <= {i["name"] for i in kustomization.get("images", [])}


def test_dockerfile_runs_non_root_and_ships_every_package_the_services_import():
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile.split("\nFROM ")[-1]  # the last stage is the image
    assert re.search(rf"^USER {UID}(:{UID})?$", runtime, re.M)
    assert 'ENTRYPOINT ["python", "-m"]' in runtime
    assert "uv sync --frozen --no-dev" in dockerfile
    copied = set(re.findall(r"^COPY (?!--from)(\S+) ", runtime, re.M))
    local = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    imported = {m for f in [*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py"),
                            *(ROOT / "tools" / "migrate").rglob("*.py")]
                for m in re.findall(r"^(?:from|import) (\w+)", f.read_text(), re.M)} & local
    assert imported - {"tools"} <= copied, f"the image lacks {sorted(imported - copied)}"
    assert {"tools/__init__.py", "tools/migrate"} <= copied, "the init container runs python -m tools.migrate"

    uv_pin = re.search(r"uv==([\w.]+)", (ROOT / "Makefile").read_text())[1]
    assert f"uv=={uv_pin}" in dockerfile, "the Dockerfile should install the uv the Makefile pins"

    ignore = (ROOT / ".dockerignore").read_text().split()
    if ignore and ignore[0] == "*":  # an allow-list: everything the image copies must be let through
        for path in copied | {"pyproject.toml", "uv.lock"}:
            assert f"!{path}" in ignore or f"!{path}/" in ignore, f".dockerignore hides {path}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_every_pod_applies_pending_migrations_before_its_service_starts():
    out = subprocess.run(["kubectl", "kustomize", str(BASE)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    deployments = of_kind(rendered, "Deployment")
    assert len(deployments) == len(SERVICES)
    for deployment in deployments:
        init = deployment["spec"]["template"]["spec"].get("initContainers", [])
        assert [c["command"] for c in init] == [["python", "-m", "tools.migrate"]], deployment["metadata"]["name"]
        assert init[0]["image"] == deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        env = {e["name"]: e for e in init[0]["env"]}
        assert env["MONGODB_URL"]["valueFrom"]["secretKeyRef"]["key"] == "MONGODB_URL"
    # The rendered init containers meet what every container of the base does.
    test_pods_outlive_the_graceful_shutdown_and_have_resources(rendered)
    test_every_container_is_non_root_with_a_read_only_root(rendered)
    test_config_references_exist_and_name_real_settings(rendered)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_renders_the_base():
    out = subprocess.run(["kubectl", "kustomize", str(BASE)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    kinds = sorted(d["kind"] for d in rendered)
    assert kinds.count("Deployment") == len(SERVICES) and kinds.count("Service") == len(SERVICES)
    for doc in rendered:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "custompass"
