# Everything installs itself: a pinned uv into .tools/uv, the project's virtualenv (.venv) from
# uv.lock, and the local Kafka/MongoDB stand-ins into .tools/infra.
PYTHON ?= python3
UV := .tools/uv/bin/uv
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: install run stop test bench contracts clean

install: .venv/.synced .tools/infra/.installed .tools/.chromium

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

.tools/infra/.installed:
	$(PYTHON) -m tools.devinfra install

# Debian's chromium: the admin pages' tests drive it headless through Playwright, which never
# downloads a browser of its own here.
.tools/.chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	mkdir -p .tools && touch $@

run: install
	$(PY) -m tools.run_local

stop:
	$(PYTHON) -m tools.run_local --stop

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m bench

# Regenerates docs/openapi.json and docs/asyncapi.json from the code; commit them with the change.
contracts: install
	$(PY) -m tools.contracts

clean:
	rm -rf .venv .tools .run test-artifacts
