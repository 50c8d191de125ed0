# scriptdeck — `make run` serves the console on 127.0.0.1:8000; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_HOME := $(CURDIR)/var/test

.PHONY: install run test test-fast lint bench clean services

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: install
	$(BIN)/scriptdeck serve

lint: install
	$(BIN)/ruff check src tests examples bench
	$(BIN)/ruff format --check src tests bench

# Every test: unit, app (Django + SQLite), system (real processes; embedded default,
# PostgreSQL + Redis, RabbitMQ). The services must be running: see `make services`.
test: install lint
	SCRIPTDECK_HOME=$(TEST_HOME) $(BIN)/python -m pytest tests

# Without the service-backed system tests, for a machine with no PostgreSQL/Redis/RabbitMQ.
test-fast: install
	SCRIPTDECK_HOME=$(TEST_HOME) $(BIN)/python -m pytest tests -m "not services"

# Starts PostgreSQL, Redis and RabbitMQ on this machine when they are down.
services:
	bash .ci/services

clean:
	rm -rf $(VENV) var build *.egg-info

# Benchmarks: figures measured here, each against a baseline measured in the same run.
bench: install
	SCRIPTDECK_HOME=$(CURDIR)/var/bench $(BIN)/python bench/sampling.py
