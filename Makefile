# Two commands on a fresh machine: `make up` starts everything, `make test` passes the tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
KAFKA_PORT ?= 9092
MONGODB_PORT ?= 27017
export KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:$(KAFKA_PORT)
export MONGODB_URI ?= mongodb://127.0.0.1:$(MONGODB_PORT)/
# What `make` starts is a development stack: the services accept the development secrets in
# the code (and say so). Anywhere else a service is in production unless told otherwise.
export TIAOJIE_ENV ?= development

.PHONY: install infra browser up down status test unit lint simulate bench chaos

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

infra: install  ## Kafka and SecantusDB (MongoDB protocol) on loopback (fetched or built on first use)
	$(PY) -m services.devstack up

browser:  ## Debian's Chromium and CJK fonts for the console tests (Playwright drives it)
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

up: infra  ## the servers and all four services; prints their URLs
	$(PY) -m services.launcher up

down:  ## stop the services and the servers
	-$(PY) -m services.launcher down
	$(PY) -m services.devstack down

status:
	-$(PY) -m services.devstack status
	$(PY) -m services.launcher status

test: infra browser  ## the whole suite: unit, component and integration on the real servers
	$(PY) -m pytest -ra
	@# Last and on its own: the reduced fault-injection run kills services (and, where
	@# TIAOJIE_CHAOS_RESTART_SERVERS=1 says the servers are this run's, restarts the broker).
	$(PY) -m pytest -ra tests/chaos

simulate: up  ## a minute of simulated reports and mediators, then the metrics per town
	$(PY) -m intake.simulate --rate 10 --duration 60 & \
	$(PY) -m mediation.simulate --duration 60 --drain 120; wait

bench: infra  ## the side-by-side benchmark: a markdown table, and bench-results.json
	$(PY) -m tests.bench

chaos: infra  ## the full fault-injection run (restarts Kafka and the database: a stack of your own)
	$(PY) -m tests.chaos

unit: install  ## the fast rings only, no servers
	$(PY) -m pytest -ra tests/unit tests/component

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
