# leadflow: one command to install, run and test the whole stack locally (no Docker needed).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.leadflow-installed
PACKAGES := shared services/intake services/qualification services/opportunity services/nurture deploy/local
DEV_REQUIREMENTS := deploy/local/requirements-dev.txt
SERVICES := intake qualification opportunity nurture
# Every third-party distribution, pinned with hashes; the repository's own packages are left out of it
# because pip refuses editable installs in hash-checking mode: they go in after it with --no-deps.
LOCK := requirements/lock.txt
LOCAL_DISTS := leadflow-shared $(foreach s,$(SERVICES),leadflow-$(s)) leadflow-devstack
INSTALL_INPUTS := $(foreach p,$(PACKAGES),$(p)/pyproject.toml) $(LOCK)
PIP := $(BIN)/python -m pip --disable-pip-version-check
UV_COMPILE := $(BIN)/uv pip compile -q --python-version 3.11 --generate-hashes --annotation-style line \
	--custom-compile-command "make lock" $(foreach d,$(LOCAL_DISTS),--no-emit-package $(d))
LOCK_ARGS ?=
LINT_PATHS := shared/src $(wildcard services/*/src) deploy/local/src bench/leadflow_bench
TEST_LINT_PATHS := shared/tests $(wildcard services/*/tests) deploy/local/tests tests conftest.py deploy/local/testpaths.py
# Measurement scripts behind the ADRs: ruff keeps them tidy; they import tools the lock does not hold (mypy skips them).
SCRIPT_LINT_PATHS := docs/adr/measurements
PYTEST_ARGS ?=
# The web console's npm packages (Chart.js), installed exactly as package-lock.json pins them.
CONSOLE_STAMP := console/node_modules/.package-lock.json

.PHONY: help install lock up down status infra test lint clean distclean

help:
	@echo "make install   virtualenv .venv with every package and the dev tools, at the versions of the lock"
	@echo "make lock      regenerate requirements/*.txt from the packages (LOCK_ARGS=--upgrade for newer versions)"
	@echo "make up        Kafka + PostgreSQL + topics + migrations + the four services + the web console"
	@echo "make down      stop the console, the services and Kafka (PostgreSQL stays up)"
	@echo "make status    what runs, on which port, ready or not"
	@echo "make infra     Kafka + PostgreSQL + roles/schemas + topics, no services"
	@echo "make test      install + infra + pytest with the stack's environment"
	@echo "make lint      ruff check, ruff format --check, mypy, on the code and its tests"
	@echo "make clean     down, then remove .leadflow (jars, Kafka data, env) and caches"

install: $(STAMP) $(CONSOLE_STAMP)

$(STAMP): $(INSTALL_INPUTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --require-hashes --no-deps -r $(LOCK)
	$(PIP) install -q --no-deps $(foreach p,$(PACKAGES),-e $(p))
	@$(PIP) check || { echo "the lock lacks what a pyproject.toml asks for: run make lock"; exit 1; }
	@touch $@

# The root lock for .venv, then one per service image, held to the root lock's versions. Existing pins are
# kept unless LOCK_ARGS says otherwise (--upgrade, --upgrade-package NAME).
lock: $(BIN)/uv
	$(UV_COMPILE) $(LOCK_ARGS) requirements/lock.in -o $(LOCK)
	@for s in $(SERVICES); do \
		echo '$(UV_COMPILE) -c $(LOCK)' requirements/$$s.in -o requirements/$$s.txt; \
		$(UV_COMPILE) -c $(LOCK) requirements/$$s.in -o requirements/$$s.txt || exit 1; \
	done

# Only uv, so make lock works where make install refuses a lock that lags behind a pyproject.toml.
$(BIN)/uv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q $$(grep '^uv==' $(DEV_REQUIREMENTS))

$(CONSOLE_STAMP): console/package.json console/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 (with npm) for the web console"; exit 1; }
	cd console && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

up: install
	$(BIN)/leadflow-stack up

down:
	@if [ -x $(BIN)/leadflow-stack ]; then $(BIN)/leadflow-stack down; else echo "nothing installed, nothing to stop"; fi

status: install
	$(BIN)/leadflow-stack status

infra: install
	$(BIN)/leadflow-stack infra

# Every tier is named on the command line, and the devstack's pytest plugin fails the run when one of them
# collects no test; pytest's own exit 5 (nothing collected at all) fails it too.
test: infra
	@eval "$$($(BIN)/leadflow-stack env --export)"; \
	$(BIN)/pytest $$($(BIN)/python deploy/local/testpaths.py) $(PYTEST_ARGS)

# mypy checks the [tool.mypy] files of pyproject.toml, as the pre-commit hook does.
lint: install
	$(BIN)/ruff check $(LINT_PATHS) $(TEST_LINT_PATHS) $(SCRIPT_LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS) $(TEST_LINT_PATHS) $(SCRIPT_LINT_PATHS)
	$(BIN)/mypy

clean: down
	rm -rf .leadflow .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

# The benchmark against the local stack (started if needed); it prints figures and never fails on a timing.
# Smaller: make bench BENCH_ARGS="--leads 2000 --stored-leads 50000"
BENCH_ARGS ?=
.PHONY: bench
bench: infra
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk; } \
		|| echo "wrk could not be installed: the asyncio load generator will run instead"
	@eval "$$($(BIN)/leadflow-stack env --export)"; \
	PYTHONPATH=bench $(BIN)/python -m leadflow_bench $(BENCH_ARGS)
