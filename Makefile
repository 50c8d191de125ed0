# scriptdeck — `make run` serves the console on 127.0.0.1:8000; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_HOME := $(CURDIR)/var/test

.PHONY: install run test test-fast test-postgres lint bench clean services e2e-deps sandbox-deps

# The web console (web/): npm ci when the lock changes; the build (OpenAPI schema → types,
# type check, lint, vite) when its sources or the API change. Output: static/console/.
WEB_MODULES := web/node_modules/.package-lock.json
WEB_STAMP := src/scriptdeck/console/static/console/.vite/manifest.json
WEB_SOURCES := $(shell find web/src web/public -type f ! -name schema.d.ts 2>/dev/null) \
	web/package.json web/index.html web/vite.config.ts web/tsconfig.json web/eslint.config.js \
	web/scripts/gen-openapi.sh $(shell find src/scriptdeck/api -name "*.py")

install: $(STAMP) $(WEB_STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

$(WEB_MODULES): web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $(WEB_MODULES)

$(WEB_STAMP): $(STAMP) $(WEB_MODULES) $(WEB_SOURCES)
	cd web && npm run build

run: install sandbox-deps
	$(BIN)/scriptdeck serve

# Style, then the layering: the import contract of pyproject.toml, and the doors' calls.
lint: install
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_layers.py

# Every test: unit, app (Django + SQLite), system (real processes; embedded default,
# PostgreSQL + Redis, RabbitMQ). The services must be running: see `make services`.
test: install lint e2e-deps sandbox-deps
	cd web && npm test
	SCRIPTDECK_HOME=$(TEST_HOME) $(BIN)/python -m pytest tests
	$(MAKE) test-postgres

# The app tests whose SQL differs on PostgreSQL (the overview's index walks, the list's
# ordering, /wait/ woken by NOTIFY, two registrations at once), once more against PostgreSQL
# (test database: test_test).
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
test-postgres: install
	DATABASE_URL=$(PG_TEST_URL) SCRIPTDECK_HOME=$(TEST_HOME)-pg $(BIN)/python -m pytest \
		tests/app/test_stats.py tests/app/test_wait.py tests/app/test_execution_ordering.py \
		tests/app/test_claim.py tests/app/test_sync_race.py

# The console's end-to-end tests drive Debian's chromium (never a downloaded browser), with
# CJK fonts for the Chinese pages' screenshots.
e2e-deps:
	@test -x /usr/bin/chromium && fc-list :lang=zh | grep -q . || \
		(apt-get update && apt-get install -y chromium fonts-noto-cjk)

# Runs are isolated (docs/security.md): Debian's bubblewrap for their namespaces and, when
# the server runs as root, a system user of their own (SCRIPTDECK_RUN_AS). Only as root: a
# developer's own account runs scripts in bubblewrap if it is there, as itself.
RUN_AS ?= $(or $(SCRIPTDECK_RUN_AS),scriptdeck-run)
sandbox-deps:
	@if [ "$$(id -u)" = 0 ]; then \
		test -x /usr/bin/bwrap || (apt-get update && apt-get install -y bubblewrap); \
		id -u $(RUN_AS) >/dev/null 2>&1 || \
			useradd --system --no-create-home --shell /usr/sbin/nologin $(RUN_AS); \
	fi

# Without the service-backed system tests, for a machine with no PostgreSQL/Redis/RabbitMQ.
test-fast: install
	SCRIPTDECK_HOME=$(TEST_HOME) $(BIN)/python -m pytest tests -m "not services"

# Starts PostgreSQL, Redis and RabbitMQ on this machine when they are down.
services:
	bash .ci/services

clean:
	rm -rf $(VENV) var build *.egg-info web/node_modules src/scriptdeck/console/static/console

# Benchmarks: figures measured here, each against a baseline measured in the same run.
# Needs PostgreSQL (and redis-server) on this machine: see `make services` and bench/README.md.
# `make bench QUICK=1` (or BENCH_QUICK=1) runs reduced sizes. Not part of `make test`.
bench: $(STAMP)
	@$(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 3)" \
		2>/dev/null || bash .ci/services
	BENCH_QUICK=$(or $(QUICK),$(BENCH_QUICK),0) SCRIPTDECK_HOME=$(CURDIR)/var/bench \
		$(BIN)/python bench/suite.py
