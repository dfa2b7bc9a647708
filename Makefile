# Every target runs from a fresh clone: `install` builds .venv/ from the lock file first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
STAMP := $(VENV)/.installed

.PHONY: help install run test lint generate check-generated migrate migration format lock clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

install: $(STAMP) ## Create .venv/ with the pinned dependencies (idempotent)

run: install ## Serve on HOST:PORT (default 127.0.0.1:8000) with SQLite under ./data/
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --workers $(WORKERS) --no-access-log

test: install ## Run the whole test suite
	$(BIN)/pytest

lint: install check-generated ## ruff, mypy, codegen drift and spec validation
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/validate_spec.py

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

generate: install ## Regenerate generated/models.py from openapi/openapi.yaml
	$(BIN)/datamodel-codegen

check-generated: install ## Fail when generated/ is not what the contract produces
	$(BIN)/datamodel-codegen --check

migrate: install ## Upgrade the database to the latest migration
	$(BIN)/alembic upgrade head

migration: install ## Autogenerate a migration: make migration m="add a column"
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 2; }
	$(BIN)/alembic revision --autogenerate -m "$(m)"

lock: ## Re-resolve requirements.lock from pyproject.toml (needs the package index)
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude taskapi > requirements.lock
	rm -rf .lock-venv

clean: ## Remove the venv, caches and local data
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis data reports
