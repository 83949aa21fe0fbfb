# Prepaid-consumption trust platform. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)
PORT ?= 8000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run run-cluster demo test test-fast bench lint deps-system venv vendor clean verify-ledger

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

deps-system: ## Install rabbitmq-server, postgresql, python3-venv, chromium and its CJK font with apt-get when missing
	@PYTHON=$(PYTHON) scripts/system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	@$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create .venv with the pinned Python dependencies

run: ## Start RabbitMQ, the relays, all services and the gateway (embedded SQLite under ./var)
	@PYTHON=$(PYTHON) scripts/system-deps.sh rabbitmq
	@$(MAKE) --no-print-directory venv
	@PORT=$(PORT) $(PY) -m platformrun

run-cluster: ## The production shape here: PostgreSQL, 3 clustered RabbitMQ nodes, 2 replicas of every process (gateways on PORT and PORT+1; data thrown away at stop)
	@PYTHON=$(PYTHON) scripts/system-deps.sh rabbitmq postgresql
	@$(MAKE) --no-print-directory venv
	@PORT=$(PORT) $(PY) -m platformrun.cluster

DEMO_ARGS ?=
demo: venv ## Drive the running platform (make run) through 90 simulated days of a synthetic city
	@$(PY) -m platformrun.simulator --url http://127.0.0.1:$(PORT) $(DEMO_ARGS)

LOAD_ARGS ?=
.PHONY: load
load: venv ## A city's confirm load on the running platform (make run): LOAD_ARGS="--scale 0.01 --rate 40"
	@$(PY) -m platformrun.simulator.load --url http://127.0.0.1:$(PORT) $(LOAD_ARGS)

test: deps-system venv ## Run the whole suite against throwaway RabbitMQ and PostgreSQL servers
	@$(PY) -m pytest $(PYTEST_ARGS)

test-fast: venv ## Run the tests that need no broker and no PostgreSQL
	@$(PY) -m pytest -m "not broker and not postgres and not slow and not browser" $(PYTEST_ARGS)

bench: deps-system venv ## Print the benchmark figures and ratios, measured side by side
	@$(PY) -m bench

vendor: ## Re-copy the pinned front-end files (web/package-lock.json) into the pages; needs npm
	@scripts/vendor-assets.sh

LEDGER ?= var/ledger/ledger.db
verify-ledger: venv ## Re-verify a ledger file from its entry bytes (LEDGER=path, default var/ledger/ledger.db)
	@$(PY) -m ledger verify $(LEDGER)

lint: ## ruff check, ruff format --check, mypy and the import-linter layering contracts
	@PYTHON=$(PYTHON) scripts/system-deps.sh python
	@$(MAKE) --no-print-directory venv
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports

clean: ## Remove .venv and the embedded data under ./var
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
