# imgpipeline: `make run` refreshes the published data; `make test` runs the tests.
# Both set up .venv on first use with nothing but Python 3.11 and pip.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Prefect's and GX's defaults for this project live in pyproject.toml ([tool.prefect],
# [tool.imgpipeline.environment]): Prefect reads them here; the CLI and the tests export them.

.PHONY: setup run test lint bench bench-web app chromium server docs clean

setup: $(STAMP)

# PYTHONWARNINGS: setuptools warns on every editable install about same-named folders
# (nothing to act on). An editable install compiles nothing: the package is byte-compiled
# here as pip compiles a regular install, so a process started with PYTHONDONTWRITEBYTECODE
# (as in many containers) still reads compiled modules. The batch kernel is compiled once.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet --no-deps -e .
	@echo "compiling the batch kernel once (Numba's cache, about 20 s)"
	$(BIN)/python -m imgpipeline.advice.kernel
	$(BIN)/python -m imgpipeline.advice.compiled
	$(BIN)/python -m compileall -q imgpipeline flows
	$(BIN)/python tests/prefect_db.py
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/imgpipeline refresh

# PYTHONDONTWRITEBYTECODE cleared: the tests start some sixty Python processes (the CLI, the
# notebooks' kernels, Dask workers) that import the package, and pytest rewrites every test
# module at each collection; with the byte-code cache (in git-ignored __pycache__ folders)
# each is compiled once per clone instead of in every process.
test: $(STAMP) chromium
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 2 --dist load

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here): install
# it when missing and we are root; otherwise say how (the browser tests then fail, naming it).
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "no /usr/bin/chromium: install Debian's chromium (sudo apt-get install chromium) for the browser tests"; fi; }

# The applicant's web page and the JSON API over the current published version (make run first).
app: $(STAMP)
	$(BIN)/imgpipeline serve

# A Prefect server for scheduled runs (README, "Scheduled refreshes"), with this project's
# Prefect home and telemetry off.
server: $(STAMP)
	$(BIN)/prefect server start

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/python -m bench.web

# The API alone: p50/p95 and requests/s at 1, 8 and 32 clients (30 s each).
bench-web: $(STAMP)
	$(BIN)/python -m bench.web

clean:
	rm -rf $(VENV) .prefect .cache .pytest_cache data/raw/*/ data/raw/manifest.jsonl data/processed/versions data/processed/current
