"""Writes the alert groups of a Prometheus Operator `PrometheusRule` as a Prometheus rule file.

deploy/k8s/base/prometheusrule.yaml is the one definition of CustomPass's alerts. Prometheus
itself reads rule files, whose top level is `groups:` and which refuse the custom resource's
`apiVersion`, `kind` and `metadata`, so deploy/compose runs this at every `up` (in the CustomPass
image, which has PyYAML) rather than keeping a second copy of the rules:

    python rules_from_k8s.py PROMETHEUSRULE.yaml RULES.yml
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml


def rule_file(prometheus_rule: dict) -> dict:
    if prometheus_rule.get("kind") != "PrometheusRule":
        raise ValueError(f"expected a PrometheusRule, got kind {prometheus_rule.get('kind')!r}")
    return {"groups": prometheus_rule["spec"]["groups"]}


def main(source: str, target: str) -> None:
    rules = rule_file(yaml.safe_load(Path(source).read_text()))
    Path(target).write_text(yaml.safe_dump(rules, sort_keys=False, allow_unicode=True))


if __name__ == "__main__":
    main(*sys.argv[1:])
