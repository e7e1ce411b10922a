# The venv is (re)built only when pyproject.toml changes; every target depends on it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ENV    ?= dev
PORT   ?= 5000
PYTEST_ARGS ?= -n 5 --dist loadfile --no-loadscope-reorder --durations=25
UV_VERSION := 0.13.8
UV     := $(BIN)/uv
UV_PIP := $(UV) pip install --quiet --no-python-downloads --compile-bytecode
# The provider mirror of this project's build machines (the registry is unreachable there); a
# PAYINFRA_PLUGIN_DIR of your own wins, and elsewhere terraform uses the registry as usual.
export PAYINFRA_PLUGIN_DIR ?= $(firstword $(wildcard /opt/tf-plugins))
# checkov pins many libraries of its own, so it lives in a venv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := $(VENV)/checkov
CHECKOV         := $(CHECKOV_VENV)/bin/checkov

.PHONY: demo demo-down render test suite test-fast lint fmt clean

# uv (a wheel from PyPI, pinned) installs both venvs' packages: parallel downloads, and the
# bytecode compiled at once (every suite process would otherwise compile what it imports);
# measured from nothing, ~20 s where pip took ~50 s. It never downloads an interpreter.
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

$(STAMP): pyproject.toml | $(UV)
	$(UV_PIP) --python $(BIN)/python -e '.[test]'
	touch $(STAMP)

# Independent of the main venv (its own folder inside it), so the two install side by side.
$(CHECKOV): | $(UV)
	$(UV) venv --quiet --clear --no-python-downloads --python $(PYTHON) $(CHECKOV_VENV)
	$(UV_PIP) --python $(CHECKOV_VENV)/bin/python 'checkov==$(CHECKOV_VERSION)'

# The whole stack on a local AWS emulator: render, start moto, init, plan, apply, outputs.
demo: $(STAMP)
	$(BIN)/payinfra emulator start --port $(PORT)
	$(BIN)/payinfra init local
	$(BIN)/payinfra plan local --no-render
	$(BIN)/payinfra apply local --no-render
	$(BIN)/payinfra output local

# Tear the demo down again: destroy the stack, stop the emulator.
demo-down: $(STAMP)
	$(BIN)/payinfra destroy local --auto-approve
	$(BIN)/payinfra emulator stop

render: $(STAMP)
	$(BIN)/payinfra render $(ENV)

# The two venvs install side by side; then lint runs beside the suite, whose emulator runs
# mostly wait on the AWS provider's waiters. Either failing fails `make test`.
test:
	$(MAKE) --jobs=2 --no-print-directory $(STAMP) $(CHECKOV)
	$(MAKE) --jobs=2 --no-print-directory lint suite

# GOGC=400: terraform and the AWS provider spend most of a run's CPU building and reading the
# provider's schema, and the suite is CPU-bound on 2 cores; collecting garbage 4x less often cut
# the suite's terraform CPU by 14% (tests/tools/test_terraform_validates.py: 92 s -> 79 s), at
# up to 5x the live heap per process.
suite: $(STAMP) $(CHECKOV)
	GOGC=400 PAYINFRA_CHECKOV=$(CURDIR)/$(CHECKOV) $(BIN)/python -m pytest $(PYTEST_ARGS)

# Everything that needs no terraform, moto server, checkov or minutes (tests/markerguard.py keeps
# the markers honest): run it while working, `make test` before pushing.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --fast

# ruff (lint + format), mypy, terraform fmt of the module sources, the pre-commit config and the
# GitHub Actions workflow (its schema, and actionlint: runtimes, expressions, steps).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	terraform fmt -check -recursive templates/modules
	$(BIN)/python scripts/module_docs.py --check
	$(BIN)/pre-commit validate-config .pre-commit-config.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/actionlint .github/workflows/*.yml

fmt: $(STAMP)
	$(BIN)/python scripts/module_docs.py
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	terraform fmt -recursive templates/modules

# Removes the virtualenv and caches only: out/ may hold Terraform state and is never touched.
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
