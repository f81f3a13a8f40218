# aigrid — the two commands a new user needs are `make demo` and `make test`.
# Each creates the virtual environment it needs (.venv) from the lock file on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit ui sql bench lock clean

# The Prometheus backfill tests run a real Prometheus (Debian package, unpacked, never installed).
# Fetching is best effort here: without apt those tests skip with the reason (and fail when CI=true).
PROMETHEUS := .aigrid/tools/prometheus/usr/bin/prometheus

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "aigrid needs Python 3.11 or newer, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --requirement requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	@touch $(STAMP)

## demo: simulate the last 24 hours of a 2-site AI grid, run every pipeline asset, publish and summarise.
demo: $(STAMP)
	$(BIN)/aigrid demo

## test: lint, type-check and run the whole test suite (what CI runs).
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy aigrid collectors pipelines dashboards bench

unit: $(STAMP) $(PROMETHEUS)
	$(BIN)/pytest

$(PROMETHEUS):
	-scripts/fetch-prometheus.sh

## ui: the Dagster UI on http://127.0.0.1:3000 over the demo's runs and assets.
ui: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/.aigrid/dagster_home $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## bench: every benchmark in bench/, figures printed.
bench: $(STAMP)
	$(BIN)/python -m bench

## lock: re-resolve the exact versions (maintainers; needs uv).
lock:
	uv pip compile pyproject.toml -o requirements.lock --python-version 3.11 --no-header
	uv pip compile pyproject.toml --extra dev -o requirements-dev.lock --python-version 3.11 --no-header

clean:
	rm -rf $(VENV) .aigrid .mypy_cache .ruff_cache .pytest_cache
