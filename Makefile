# Three commands on a fresh machine with only Python 3.11+:
#   make run    start the console
#   make test   lint, type-check, check the layers' imports and run the tests
#   make demo   a simulated estate (SNMP devices, jobs) with the console on it
# Each creates .venv and installs what it needs, again only when pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
ARGS ?=
# Our packages are installed editable, so pip never byte-compiles them. Where
# PYTHONDONTWRITEBYTECODE is set (many container images), every start would
# compile them again: ~0.1 s of the console's first screen. Up-to-date files
# are skipped, so this costs a few milliseconds per run.
COMPILE := $(BIN)/python -m compileall -q bridge collectors themes >/dev/null

.PHONY: run test lint format pytest bench clean demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@ $(RUN_STAMP)

demo: $(DEMO_STAMP)
	@$(COMPILE)
	$(BIN)/bridge demo $(ARGS)

run: $(RUN_STAMP)
	@$(COMPILE)
	$(BIN)/bridge $(ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

pytest: $(TEST_STAMP)
	@scripts/install-test-deps
	$(BIN)/pytest $(ARGS)

test: lint pytest

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(TEST_STAMP)
	for b in bench/[!_]*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
