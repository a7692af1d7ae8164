# One Makefile whose targets mirror CI. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_FOR_VENV := $(shell scripts/find-python 3.13 3.12)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat $(filter-out requirements/sam.txt requirements/checkov.txt,$(wildcard requirements/*.txt)) src/runtime/requirements.txt pyproject.toml | sha256sum | cut -c1-12)
# aws-sam-cli pins its own boto3/pydantic/click: it gets its own venv, re-created when requirements/sam.txt changes.
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(shell cat requirements/sam.txt | sha256sum | cut -c1-12)
# checkov pins its own boto3/pydantic/packaging too: its own venv, re-created when requirements/checkov.txt changes.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cat requirements/checkov.txt | sha256sum | cut -c1-12)
# `sam validate --lint` needs a region but no account or credentials; override with `make validate SAM_REGION=...`.
SAM_REGION ?= us-east-1

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP):
	@echo "Creating $(VENV) with $(PYTHON_FOR_VENV) ($$($(PYTHON_FOR_VENV) --version 2>&1))"
	@rm -rf $(VENV)
	@$(PYTHON_FOR_VENV) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --upgrade pip
	@$(VENV)/bin/pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt -e .
	@touch $@

$(SAM_STAMP):
	@echo "Creating $(SAM_VENV) with $(PYTHON_FOR_VENV) ($$($(PYTHON_FOR_VENV) --version 2>&1))"
	@rm -rf $(SAM_VENV)
	@$(PYTHON_FOR_VENV) -m venv $(SAM_VENV)
	@$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	@$(SAM_VENV)/bin/pip install --quiet -r requirements/sam.txt
	@touch $@

$(CHECKOV_STAMP):
	@echo "Creating $(CHECKOV_VENV) with $(PYTHON_FOR_VENV) ($$($(PYTHON_FOR_VENV) --version 2>&1))"
	@rm -rf $(CHECKOV_VENV)
	@$(PYTHON_FOR_VENV) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	@$(CHECKOV_VENV)/bin/pip install --quiet -r requirements/checkov.txt
	@touch $@

venv: $(STAMP) ## Create the virtualenv from the pinned requirements

test: lint validate checkov ## lint (ruff, mypy), validate, checkov, then run the whole test suite (what CI runs)
	$(PY) -m pytest

interop: $(STAMP) ## The interop tier alone: the product against extrawest-ocpi (part of make test)
	$(PY) -m pytest -q tests/interop

unit: $(STAMP) ## The unit tests: no emulation, no network, seconds
	$(PY) -m pytest -q tests/unit

run: $(STAMP) ## Run the product locally: the OCPI API on 127.0.0.1:3000 with embedded AWS emulation
	$(VENV)/bin/ocpi-commands run $(RUN_ARGS)

load: $(STAMP) ## Load test of make run: 20 START_SESSION/s for 60 s, OCPI timing checked (LOAD_ARGS="--rate 10")
	$(PY) scripts/load_test.py $(LOAD_ARGS)

bench: $(STAMP) ## Benchmarks and cost model: cold start, warm, AWS calls, transitions, $ per 1M (bench/README.md)
	$(PY) bench/run.py $(BENCH_ARGS)

fuzz: $(STAMP) ## The property-based and schema-driven fuzzing, thorough (FUZZ_EXAMPLES=5000 per property)
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -p no:cacheprovider tests/hardening

lint: $(STAMP) ## ruff (lint and format) and mypy over the code
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy

validate: $(STAMP) $(SAM_STAMP) ## sam validate --lint, cfn-lint, and statemachine/*.asl.json against the template
	scripts/sam validate --lint --region $(SAM_REGION)
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) scripts/check_asl.py

# Infrastructure checked like code: any failed check fails. A check that does not fit is skipped in the
# resource's Metadata (checkov: skip: id + comment), with its reason. Offline: no download, no update check.
checkov: $(CHECKOV_STAMP) ## checkov over template.yaml (each skip carries its reason in the template)
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE $(CHECKOV_VENV)/bin/checkov --file template.yaml \
		--framework cloudformation --skip-download --compact --quiet

build: $(SAM_STAMP) ## sam build into .aws-sam/ with the Lambda runtime's python (SAM_ARGS="--config-env prod")
	scripts/sam build $(SAM_ARGS)
	scripts/precompile-build

clean: ## Remove the virtualenvs and caches
	rm -rf $(VENV) .venv-* .pytest_cache .ruff_cache .aws-sam .cache

.PHONY: help venv test interop unit run load bench fuzz lint validate checkov build clean
