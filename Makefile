# The two commands a new user types: `make demo` and `make test`.
# Everything below installs what it needs itself, on a fresh machine.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ARGS ?=
PYTEST_ARGS ?=
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20

.PHONY: demo test lint typecheck unit integration e2e infra-test synth bench schema clean install sdk

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[local,dev,infra,dashboards]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/clickstream demo $(DEMO_ARGS)

test: $(STAMP) lint typecheck
	bash scripts/test-deps.sh
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check clickstream functions tests bench infra shiny
	$(BIN)/ruff format --check clickstream functions tests bench infra shiny

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

# The AWS stack, synthesized offline (no credentials, no lookups) with the CDK CLI
# pinned in infra/package.json; Lambda code and the dashboards are bundled
# locally (pip wheels for arm64, no Docker). Output: infra/cdk.out/.
synth: $(STAMP)
	[ -d infra/node_modules ] || npm ci --prefix infra --no-audit --no-fund
	cd infra && PATH="$(abspath $(BIN)):$$PATH" npx --no-install cdk synth --quiet

infra-test: $(STAMP)
	bash scripts/test-deps.d/20-infra.sh
	$(BIN)/pytest tests/infra $(PYTEST_ARGS)

schema: $(STAMP)
	$(BIN)/clickstream schema --out docs/event.schema.json

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .clickstream .pytest_cache .mypy_cache .ruff_cache

# Pictures of the dashboard pages for the README (docs/screenshots/*.png): the browser
# tests on two weeks of generated traffic, with one failed hour waiting for its redrive.
.PHONY: screenshots
screenshots: $(STAMP)
	bash scripts/test-deps.d/40-chromium.sh
	DASHBOARD_SCREENSHOTS=docs/screenshots DASHBOARD_E2E_DAYS=14 DASHBOARD_E2E_HOURLY=48 \
		DASHBOARD_E2E_EVENTS_PER_DAY=10000 $(BIN)/pytest tests/e2e/test_dashboards_browser.py $(PYTEST_ARGS)
