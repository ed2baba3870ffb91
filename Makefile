# Everything installs itself: a pinned uv into .tools/uv, the project's virtualenv (.venv) from
# uv.lock, and the local Kafka/MongoDB stand-ins into .tools/infra.
PYTHON ?= python3
UV := .tools/uv/bin/uv
PY := .venv/bin/python
PYTEST_ARGS ?=
# `make test` runs the suite in TEST_WORKERS processes (pytest-xdist), each with its own broker,
# database and services: most of a test's time is waiting on them, so two share two cores well
# (496 s against 1,175 s in one process, on 2 cores). worksteal, not loadfile: see
# tests/harness/whole_run.py. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
BENCH_ARGS ?=
# The console's browser tests drive Debian's chromium (no browser download); installed when missing,
# with a Chinese font so the zh screenshots read.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Compiled modules are cached (uv compiles the installed packages; Python caches our own on first
# import). With PYTHONDONTWRITEBYTECODE set, as on our CI machines, every process would compile all
# its sources again at each start: about half of a service's start-up CPU, and a test run starts
# hundreds of processes.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run stop status restart test bench chaos contracts clean

install: .venv/.synced .tools/infra/.installed

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

# Two markers on one .venv: .synced-run, the product's dependencies (all `make run` needs), and
# .synced, those plus the `dev` group (the test tooling: playwright, moto, schemathesis, ...).
# A full sync satisfies both; the run's sync is --inexact, so it never removes the test tooling
# a `make test` installed (nor makes the next `make test` install it again).
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	touch $@ .venv/.synced-run

.venv/.synced-run: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --no-dev --inexact --python $(PYTHON)
	touch $@

.tools/infra/.installed:
	$(PYTHON) -m tools.devinfra install

run: .venv/.synced-run .tools/infra/.installed
	$(PY) -m tools.run_local

stop:
	$(PYTHON) -m tools.run_local --stop

# A running `make run`: each process's state and restarts; restart one (docs/local-stack.md).
status:
	$(PYTHON) -m tools.run_local --status

restart:
	@test -n "$(SERVICE)" || { echo "usage: make restart SERVICE=<name> (see make status)"; exit 2; }
	$(PYTHON) -m tools.run_local --restart $(SERVICE)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei

# tests/deploy checks the operators' custom resources against their CRD schemas with Node.js
# packages from the npm registry (deploy/k8s/crd-validation, pinned by its package-lock.json).
CRD_VALIDATION := deploy/k8s/crd-validation/node_modules/.package-lock.json
# The Node example worker's test runs it with the `ws` package from the npm registry.
NODE_DEPS := examples/node_modules/.installed
# Both need Debian's nodejs and npm, installed when missing.
NODE := /usr/bin/node

$(NODE):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm

$(CRD_VALIDATION): deploy/k8s/crd-validation/package-lock.json | $(NODE)
	npm ci --prefix deploy/k8s/crd-validation --no-audit --no-fund --loglevel=error
	touch $@

$(NODE_DEPS): examples/package-lock.json | $(NODE)
	npm ci --prefix examples --no-audit --no-fund --loglevel=error
	touch $@

test: install $(CHROMIUM) $(NODE_DEPS) $(CRD_VALIDATION)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The benchmark's comparison relays: Debian's nginx, and LiteLLM (pinned) in a virtualenv of its own.
NGINX := /usr/sbin/nginx
LITELLM := .tools/litellm/.installed
LITELLM_VERSION := 1.108.7

$(NGINX):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nginx

$(LITELLM): | $(UV)
	$(UV) venv --quiet --python $(PYTHON) .tools/litellm
	$(UV) pip install --quiet --python .tools/litellm/bin/python 'litellm[proxy]==$(LITELLM_VERSION)'
	touch $@

bench: install $(NGINX) $(LITELLM)
	$(PY) -m bench $(BENCH_ARGS)

# The whole system under load while faults strike on a seeded schedule, then the money and task
# invariants; exits non-zero on any violation. The same SEED replays the same faults and load.
SEED ?= 1
DURATION ?= 240
chaos: install
	$(PY) -m tools.chaos --seed $(SEED) --duration $(DURATION)

# Regenerates docs/openapi.json and docs/asyncapi.json from the code; commit them with the change.
contracts: install
	$(PY) -m tools.contracts

clean:
	rm -rf .venv .tools .run test-artifacts examples/node_modules deploy/k8s/crd-validation/node_modules
