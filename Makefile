# Two commands on a fresh machine: `make up` starts everything, `make test` passes the tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
KAFKA_PORT ?= 9092
MONGODB_PORT ?= 27017
export KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:$(KAFKA_PORT)
export MONGODB_URI ?= mongodb://127.0.0.1:$(MONGODB_PORT)/

.PHONY: install infra browser up down status test unit lint metrics-check

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

infra: install  ## Kafka, PostgreSQL and FerretDB on loopback (fetched or built on first use)
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
	$(PY) -m pytest -ra -m "not metrics_scale"

metrics-check: infra  ## 1,000 cases through the real pipeline, metrics against figures computed apart
	$(PY) -m pytest -ra -m metrics_scale

unit: install  ## the fast rings only, no servers
	$(PY) -m pytest -ra tests/unit tests/component

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
