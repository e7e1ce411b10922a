# The venv is (re)built only when pyproject.toml changes; every target depends on it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ENV    ?= dev
PYTEST_ARGS ?= -n 2
# checkov pins many libraries of its own, so it lives in a venv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := $(VENV)/checkov
CHECKOV         := $(CHECKOV_VENV)/bin/checkov

.PHONY: render test fmt clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

$(CHECKOV): | $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check 'checkov==$(CHECKOV_VERSION)'

render: $(STAMP)
	$(BIN)/payinfra render $(ENV)

test: $(STAMP) $(CHECKOV)
	PAYINFRA_CHECKOV=$(CURDIR)/$(CHECKOV) $(BIN)/python -m pytest $(PYTEST_ARGS)

fmt:
	terraform fmt -recursive templates/modules

# Removes the virtualenv and caches only: out/ may hold Terraform state and is never touched.
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
