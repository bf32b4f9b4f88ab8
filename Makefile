# Everything here works on a fresh machine with only python3: `make test` builds .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: test lint test-queue-load bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the test suite (with the coverage gate).
test: $(STAMP)
	$(BIN)/python -m pytest --cov=fapilog --cov-report=term --cov-fail-under=85

## ruff check, ruff format --check, mypy --strict on src/, the import-linter layers.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts noxfile.py
	$(BIN)/ruff format --check src tests bench scripts noxfile.py
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

## The load test at its defaults (stdlib only: no install needed).
test-queue-load:
	$(PYTHON) scripts/load_test_log_queue.py

## fapilog against logging.handlers.QueueHandler, same run (stdlib only).
bench-quick:
	$(PYTHON) -m bench.load.quick

clean:
	rm -rf $(VENV) .nox .bench .pytest_cache .mypy_cache .ruff_cache .coverage
