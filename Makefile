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

## Run the test suite with the coverage gate (fail_under in pyproject.toml, as `nox -s tests`).
test: $(STAMP)
	$(BIN)/python -m pytest --cov=fapilog --cov-report=term

## pre-commit on every file (ruff, ruff-format: .pre-commit-config.yaml), mypy --strict on src/,
## the import-linter layers: what `nox -s lint` runs.
lint: $(STAMP)
	$(BIN)/pre-commit run --all-files --show-diff-on-failure
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
