# make run  : the app on demo data at http://localhost:8501 (venv, pinned packages, DuckDB file)
# make run-shared : the same app on a local PostgreSQL cluster (data/postgres/) with logins through a
#                    development OpenID Connect provider (scripts/run_shared.py)
# make test : everything the tests need (incl. Debian's chromium and postgresql), then the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= data/cx.duckdb
PORT   ?= 8501

.PHONY: run run-shared test demo bench chromium postgresql clean

run: $(VENV)/.runtime $(DB)
	$(BIN)/python -m cx serve --db $(DB) --port $(PORT)

run-shared: $(VENV)/.dev postgresql
	$(BIN)/python scripts/run_shared.py --port $(PORT)

test: $(VENV)/.dev chromium postgresql
	$(BIN)/python -m pytest

bench: $(VENV)/.dev
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/budget.py
	$(BIN)/python bench/match_quality.py
	$(BIN)/python bench/match_speed.py
	$(BIN)/python bench/uptake.py
	$(BIN)/python bench/io.py
	$(BIN)/python bench/demo.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/concurrency.py
	$(BIN)/python bench/row_security.py

demo: $(VENV)/.runtime
	$(BIN)/python -m cx demo --db $(DB)

$(DB): | $(VENV)/.runtime
	$(BIN)/python -m cx demo --db $(DB)

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The browser tests drive Debian's chromium through Playwright; no browser is ever downloaded.
chromium:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# The PostgreSQL tests start a throwaway cluster of Debian's postgresql package (initdb, pg_ctl).
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; }

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
