# imgpipeline: `make run` refreshes the published data; `make test` runs the tests.
# Both set up .venv on first use with nothing but Python 3.11 and pip.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180
export GX_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_EXTRA_LOGGERS := imgpipeline
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW := ignore
export MPLBACKEND := Agg

.PHONY: setup run test lint bench docs clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/imgpipeline refresh

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .prefect .pytest_cache data/raw/*/ data/raw/manifest.jsonl data/processed/versions data/processed/current
