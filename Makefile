# cimhouse: every target installs what it needs and is safe to run again.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CIM := $(VENV)/bin/cimhouse
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
POSTGIS := /usr/share/postgresql/15/extension/postgis.control
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_HOUSES ?= 2000
PYTEST_ARGS ?=

.PHONY: install demo test lint bench clean

install: $(POSTGIS) $(VENV)/.installed

$(POSTGIS):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		postgresql-15-postgis-3 >/dev/null

$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

demo: install
	$(CIM) db start
	$(CIM) db upgrade
	$(CIM) regions load
	DEMO_HOUSES=$(DEMO_HOUSES) DEMO_PORT=$(PORT) scripts/demo-data.sh
	$(CIM) serve --host $(HOST) --port $(PORT) --dev

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check cimhouse tests bench migrations
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench

bench: install
	$(PY) bench/run_all.py

clean:
	-@[ -x $(CIM) ] && $(CIM) db stop >/dev/null 2>&1 || true
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
