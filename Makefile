# Three commands on a fresh machine with only Python 3.11+:
#   make run    start the console
#   make test   lint, type-check, check the layers' imports and run the tests
#   make demo   a simulated estate (SNMP devices, jobs) with the console on it
# Each creates .venv and installs what it needs, again only when a lock file or
# pyproject.toml changed. What is installed is exactly requirements/*.lock, every
# file checked against its hash; after changing dependencies in pyproject.toml:
#   make lock                 re-resolve, keeping every pin that still fits
#   make lock ARGS=--upgrade  take the newest releases pyproject.toml allows

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

UV_VERSION := 0.13.10
# The locked packages, hashes required, then bridge itself with nothing resolved again.
INSTALL = $(BIN)/python -m pip install --quiet --require-hashes -r $(1) \
	&& $(BIN)/python -m pip install --quiet --no-deps -e .
# One resolution for all: run and demo take the test lock's versions (pytest plugins
# may narrow Textual's or Rich's), so the console run is the console tested.
COMPILE_LOCK = $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock'

.PHONY: run test lint format pytest bench clean demo lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): requirements/run.lock pyproject.toml | $(BIN)/python
	$(call INSTALL,requirements/run.lock)
	touch $@

$(TEST_STAMP): requirements/test.lock pyproject.toml | $(BIN)/python
	$(call INSTALL,requirements/test.lock)
	touch $@ $(RUN_STAMP)

$(DEMO_STAMP): requirements/demo.lock pyproject.toml | $(BIN)/python
	$(call INSTALL,requirements/demo.lock)
	touch $@ $(RUN_STAMP)

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(COMPILE_LOCK) --extra test $(ARGS) -o requirements/test.lock
	$(COMPILE_LOCK) -c requirements/test.lock -o requirements/run.lock
	$(COMPILE_LOCK) --extra demo -c requirements/test.lock -o requirements/demo.lock

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
