# Every target runs from a fresh clone: `install` builds .venv/ from the lock file first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
EXAMPLES ?= 25
STAMP := $(VENV)/.installed
# Node tools (package.json, package-lock.json): Redocly CLI, openapi-typescript, openapi-fetch.
NODE_STAMP := node_modules/.installed
NODE_BIN := node_modules/.bin
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(NODE_BIN)/redocly
# make spec-diff BASE=<git ref> (default: the merge base with main) REPORT=<file for the markdown>
BASE ?=
REPORT ?=

.PHONY: help install run test lint generate check-generated migrate migration format lock clean bench fuzz
.PHONY: bench-scale contract check
.PHONY: node-install spec-lint spec-diff sdk check-sdk workflow-lint
.PHONY: spec-diff-comment changelog spec-corpus

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

install: $(STAMP) ## Create .venv/ with the pinned dependencies (idempotent)

run: install ## Serve on HOST:PORT (default 127.0.0.1:8000) with SQLite under ./data/
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --workers $(WORKERS) --no-access-log \
		--http app.api.server:BoundedHttpProtocol --timeout-graceful-shutdown 30

test: install node-install ## Run the whole test suite
	$(BIN)/pytest

# The tests that hold the code to the contract (beyond what make lint checks), and those of the
# task and user endpoints.
CHECK_TESTS := tests/spec/test_contract_rules.py tests/core/test_records.py \
	tests/core/test_contract_pins.py tests/api/test_contract_served.py \
	tests/api/test_request_integers.py tests/api/test_fuzzer_findings.py \
	tests/api/test_tasks.py tests/api/test_users.py

contract: generate sdk format spec-lint ## After editing the contract: regenerate models and SDKs, format, lint it, report the diff
	@$(MAKE) --no-print-directory spec-diff

check: lint ## The loop's inner check (under 30 s): make lint, then the tests the contract touches
	$(BIN)/pytest -q $(CHECK_TESTS)

fuzz: install ## Fuzz the live server against the contract (EXAMPLES=25; make fuzz EXAMPLES=500)
	$(BIN)/python -m scripts.fuzz --examples $(EXAMPLES)

bench: install ## Benchmark vs a bare /ping (BENCH_DURATION, BENCH_ROUNDS, BENCH_CONNECTIONS...)
	$(BIN)/python -m scripts.bench

bench-scale: install ## List latency at 1,000 vs 1,000,000 tasks per database (BENCH_SCALE_TASKS...)
	$(BIN)/python -m scripts.bench.scale

lint: install check-generated spec-lint check-sdk workflow-lint ## ruff, mypy, codegen and SDK drift, spec validation and lint, workflow checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/validate_spec.py

format: install ## Apply ruff's fixes and formatting, then show what is left to fix by hand
	$(BIN)/ruff check --fix-only --quiet .
	$(BIN)/ruff format .
	$(BIN)/ruff check .

generate: install ## Regenerate generated/models.py from openapi/openapi.yaml
	$(BIN)/datamodel-codegen

check-generated: install ## Fail when generated/ is not what the contract produces
	$(BIN)/datamodel-codegen --check

migrate: install ## Upgrade the database to the latest migration
	$(BIN)/alembic upgrade head

# Autogenerate compares the tables with a scratch SQLite database upgraded to head, never ./data/.
migration: install ## Autogenerate the next numbered migration: make migration m="add a column"
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 2; }
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	export DATABASE_URL="sqlite:///$$scratch/scratch.db" && \
	$(BIN)/alembic upgrade head && $(BIN)/alembic revision --autogenerate -m "$(m)"

lock: ## Re-resolve requirements.lock from pyproject.toml (needs the package index)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude taskapi > requirements.lock
	rm -rf .lock-venv

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

node-install: $(NODE_STAMP) ## Install the pinned Node tools into node_modules/ with npm ci (idempotent)

spec-lint: node-install ## Lint the contract: Redocly CLI with the rules of openapi/redocly.yaml
	$(REDOCLY) lint --config openapi/redocly.yaml openapi/openapi.yaml

spec-diff: install node-install ## Breaking-change report, contract at BASE (default: merge base with main) vs the working tree
	$(BIN)/python scripts/spec_diff.py $(if $(BASE),--base "$(BASE)") $(if $(REPORT),--report "$(REPORT)")

# make spec-diff-comment BASE=<git ref> COMMENT=<file>: make spec-diff, also writing the report as
# the pull-request comment (.github/workflows/ci.yml posts it)
COMMENT ?= reports/spec-diff-comment.md
spec-diff-comment: install ## make spec-diff, also writing the report as a PR comment to COMMENT
	$(BIN)/python scripts/spec_diff.py $(if $(BASE),--base "$(BASE)") --comment "$(COMMENT)"

# make changelog BASE=<git ref> HEAD=<git ref> (defaults: the merge base with main; the working tree)
HEAD ?=
changelog: install ## Release notes (markdown) of the contract's changes from BASE to HEAD
	$(BIN)/python scripts/spec_diff.py --changelog $(if $(BASE),--base "$(BASE)") $(if $(HEAD),--head "$(HEAD)")

spec-corpus: install ## The breaking-change gate's agreement with oasdiff on its corpus, per rule family
	$(BIN)/python -m tests.spec.corpus

sdk: install node-install ## Regenerate the SDKs: generated/client/ (Python) and generated/typescript/
	$(BIN)/python scripts/generate_sdk.py

check-sdk: install node-install ## Fail when generated/client/ or generated/typescript/ is not what the contract produces
	$(BIN)/python scripts/generate_sdk.py --check

workflow-lint: install ## Check .github/workflows/ with actionlint and zizmor (offline)
	$(BIN)/actionlint
	$(BIN)/zizmor --offline --no-progress .github/workflows

clean: ## Remove the venv, caches and local data
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis data reports

# Containers (README, "Containers"): the image, the compose stack and the check CI runs.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)
.PHONY: image up compose-env down container-check

image: ## Build the container image taskapi:latest (the runtime wheels are downloaded here first)
	scripts/container_build.sh

up: compose-env image ## Start compose.yaml: the API (2 workers), PostgreSQL and Redis, settings from .env
	$(COMPOSE) up --detach

compose-env:
	@test -f .env || test -n "$$SECRET_KEY" || { echo "make up: no .env: write one with SECRET_KEY and POSTGRES_PASSWORD (README, Containers)" >&2; exit 2; }

down: ## Stop the compose stack (PostgreSQL's volume stays; `docker compose down --volumes` drops it)
	$(COMPOSE) down

container-check: ## Build the image, run it on SQLite and as the compose stack, smoke-test both
	scripts/container_check.sh
