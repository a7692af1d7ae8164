# One Makefile whose targets mirror CI. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_FOR_VENV := $(shell scripts/find-python 3.13 3.12)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/*.txt src/requirements.txt pyproject.toml | sha256sum | cut -c1-12)

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP):
	@echo "Creating $(VENV) with $(PYTHON_FOR_VENV) ($$($(PYTHON_FOR_VENV) --version 2>&1))"
	@rm -rf $(VENV)
	@$(PYTHON_FOR_VENV) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --upgrade pip
	@$(VENV)/bin/pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt -e .
	@touch $@

venv: $(STAMP) ## Create the virtualenv from the pinned requirements

test: $(STAMP) ## Run the whole test suite (what CI runs)
	$(PY) -m pytest

run: $(STAMP) ## Run the product locally: the OCPI API on 127.0.0.1:3000 with embedded AWS emulation
	$(VENV)/bin/ocpi-commands run $(RUN_ARGS)

lint: $(STAMP) ## ruff + cfn-lint
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/cfn-lint template.yaml

clean: ## Remove the virtualenvs and caches
	rm -rf $(VENV) .venv-* .pytest_cache .ruff_cache .aws-sam .cache

.PHONY: help venv test run lint clean
