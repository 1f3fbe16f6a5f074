# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite runs twice: in .venv with the newest aiohttp pip resolves, and in .venv-aiohttp39
# with the oldest the library claims (aiohttp 3.9, pinned with its yarl and multidict).
OLD := .venv-aiohttp39
OLD_CONSTRAINTS := tests/aiohttp39-constraints.txt
OLD_STAMP := $(OLD)/.installed

.PHONY: demo test lint typecheck pytest bench clean redis-server

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# --upgrade-strategy eager: an existing .venv moves to the newest releases too (the newest aiohttp).
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[cli,test,redis]'
	touch $(STAMP)

$(OLD_STAMP): pyproject.toml $(OLD_CONSTRAINTS)
	$(PYTHON) -m venv $(OLD)
	$(OLD)/bin/python -m pip install --quiet --upgrade pip
	$(OLD)/bin/python -m pip install --quiet -c $(OLD_CONSTRAINTS) -e '.[cli,test,redis]'
	touch $(OLD_STAMP)

demo: $(STAMP)
	$(BIN)/hf-access demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict hf_access

# The fleet tests run against a real redis-server. Install the Debian package when it is missing
# and this machine allows it (root with apt-get); elsewhere those tests are skipped, saying why.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the Debian package redis-server for the fleet tests"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } \
	      >/dev/null 2>&1 || echo "could not install redis-server: the fleet tests will be skipped"; \
	  else \
	    echo "no redis-server here and no way to install it: the fleet tests will be skipped"; \
	  fi; }

AIOHTTP_VERSION = -c 'import aiohttp; print("aiohttp", aiohttp.__version__)'

pytest: $(STAMP) $(OLD_STAMP) redis-server
	@echo "== the suite with the newest aiohttp: $$($(BIN)/python $(AIOHTTP_VERSION))"
	$(BIN)/python -m pytest -q
	@echo "== the suite with the oldest aiohttp supported: $$($(OLD)/bin/python $(AIOHTTP_VERSION))"
	$(OLD)/bin/python -m pytest -q -p no:cacheprovider

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(OLD) build dist .pytest_cache .mypy_cache .ruff_cache
