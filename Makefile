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

.PHONY: setup run test lint bench docs clean browser server

setup: $(STAMP)

# PYTHONWARNINGS: setuptools warns on every editable install about same-named folders
# (nothing to act on).
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/imgpipeline refresh

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# A headless Chromium for the Data Docs test (Debian's package; Playwright drives it, it
# cannot download its own browsers here). Installed when missing and run as root with
# apt-get; otherwise that test is skipped, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (apt-get) for the Data Docs browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium could not be installed: the Data Docs browser test will be skipped"; \
	else \
		echo "no chromium and not root: the Data Docs browser test will be skipped"; \
	fi

# A Prefect server for scheduled runs (README, "Scheduled refreshes"), with this project's
# Prefect home and telemetry off.
server: $(STAMP)
	$(BIN)/prefect server start

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .prefect .pytest_cache data/raw/*/ data/raw/manifest.jsonl data/processed/versions data/processed/current
