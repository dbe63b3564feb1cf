# Headwater — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# the built web console (ui/ → src/headwater/console/) and what it is built from
CONSOLE := src/headwater/console/index.html
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/tsconfig.json

.PHONY: run test static-checks lint typecheck contracts pytest bench bench-soak bench-instructions bench-org bench-usage lock services clean openapi console ui-check browser wheel screenshots

# ---- environments (installed from the lock files, exactly what CI tested) ----
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"

$(VENV)/.runtime-installed: requirements.lock pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --require-hashes -r requirements.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(VENV)/.dev-installed: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@touch $@ $(VENV)/.runtime-installed

# ---- make run: embedded SQLite + built-in simulated models + a demo key ----
run: $(VENV)/.runtime-installed $(CONSOLE)
	$(BIN)/headwater demo

# ---- the web console (ui/): npm ci from the lock file, then Vite builds it into the package ----

ui/node_modules/.installed: ui/package-lock.json
	npm ci --prefix ui --no-audit --no-fund
	@touch $@

$(CONSOLE): ui/node_modules/.installed $(UI_SOURCES)
	npm run --prefix ui build
	@touch $@

console: $(CONSOLE)

# type-check, lint and test the console; its API types must be what docs/openapi.json generates
ui-check: ui/node_modules/.installed
	npm run --prefix ui api:check
	npm run --prefix ui typecheck
	npm run --prefix ui lint
	npm run --prefix ui test

# Debian's chromium for the console's browser tests (installed when missing; never a downloaded browser)
browser:
	@bash scripts/ensure-browser.sh

# a wheel with the built console inside: pip install needs no Node
wheel: $(VENV)/.dev-installed $(CONSOLE)
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .

# docs/console/*.png: every page, on real data, in Debian's chromium
screenshots: $(VENV)/.dev-installed $(CONSOLE) browser
	HEADWATER_SCREENSHOT_DIR=docs/console $(BIN)/python -m pytest tests/console -q -k accessibility

# ---- make test: lint, types, import contracts and the whole suite ----
# The static checks (ruff, mypy, import contracts) and the console's checks run side by side: all
# CPU-bound and independent, nothing timing-sensitive; then the pytest suite alone.
test: $(VENV)/.dev-installed services browser
	@$(MAKE) --no-print-directory -j2 --output-sync=target static-checks ui-check
	@$(MAKE) --no-print-directory pytest

static-checks: lint typecheck contracts

services:
	@bash scripts/ensure-services.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests bench scripts deploy/dashboards
	$(BIN)/ruff format --check src tests bench scripts deploy/dashboards

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

contracts: $(VENV)/.dev-installed
	$(BIN)/lint-imports

pytest: $(VENV)/.dev-installed tests/oidc/node_modules/.installed tests/sdk_js/node_modules/.installed $(CONSOLE)
	@bash scripts/pytest.sh

# the real OpenID Connect provider the identity tests run (npm's oidc-provider, see tests/oidc)
tests/oidc/node_modules/.installed: tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund
	@touch $@

# the official openai npm SDK, driven through the gateway (tests/providers/test_openai_js.py)
tests/sdk_js/node_modules/.installed: tests/sdk_js/package-lock.json
	npm ci --prefix tests/sdk_js --no-audit --no-fund
	@touch $@

# ---- make bench: nginx + wrk, reference proxy vs Headwater (not a test) ----
bench: $(VENV)/.dev-installed
	@bash bench/run.sh

# ---- make bench-soak: one worker over 1,000,000 mixed requests with aborted streams (issue 16) ----
# RSS flat and under 150 MB, no file descriptor or task leak; ARGS="--requests 200000" for a shorter run.
bench-soak: $(VENV)/.dev-installed
	@bash bench/run.sh --soak $(ARGS)

# ---- make bench-instructions: instructions per request under callgrind, reference vs Headwater (issue 16) ----
# Counts, not time: what a noisy machine cannot disturb. Installs valgrind (Debian) when missing.
bench-instructions: $(VENV)/.dev-installed
	@command -v valgrind >/dev/null || apt-get install -y -q valgrind >/dev/null || sudo apt-get install -y -q valgrind >/dev/null
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt-get install -y -q nginx-light >/dev/null || sudo apt-get install -y -q nginx-light >/dev/null
	$(BIN)/python bench/instructions.py $(ARGS)

# ---- make bench-org: 100k keys, two replicas on PostgreSQL + Redis, changes under load (issue 11) ----
# Options after ARGS=, e.g. make bench-org ARGS="--keys 10000 --phase-s 10"; needs wrk and services.
bench-org: $(VENV)/.dev-installed services
	@command -v wrk >/dev/null || { echo "bench-org needs wrk (apt-get install wrk)"; exit 1; }
	$(BIN)/python bench/org_scenario.py $(ARGS)

# ---- make bench-usage: 10M usage events over a year on PostgreSQL: queries and writer (issue 12) ----
# Options after ARGS=, e.g. make bench-usage ARGS="--events 1000000 --runs 10"; needs services.
bench-usage: $(VENV)/.dev-installed services
	$(BIN)/python bench/usage_bench.py $(ARGS)

# ---- regenerate docs/openapi.json after changing the admin API ----
openapi: $(VENV)/.dev-installed
	$(BIN)/python scripts/openapi.py

# ---- regenerate the lock files (needs uv: pip install uv) ----
lock:
	printf 'hatchling>=1.25\neditables>=0.5\n' > /tmp/headwater-build.in
	uv pip compile pyproject.toml /tmp/headwater-build.in -o requirements.lock --generate-hashes --python-version 3.11 --no-header
	uv pip compile pyproject.toml --extra dev -o requirements-dev.lock --generate-hashes --python-version 3.11 --no-header

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
