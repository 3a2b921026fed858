# cimhouse: every target installs what it needs and is safe to run again.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
CIM := $(VENV)/bin/cimhouse
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
POSTGIS := /usr/share/postgresql/15/extension/postgis.control
# GDAL's command-line tools: the export tests read the files with ogrinfo (a real reader).
OGRINFO := /usr/bin/ogrinfo
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_HOUSES ?= 2000
PYTEST_ARGS ?=

.PHONY: install demo test test-citus citus lint bench clean chromium test-browser screenshots

MO := cimhouse/locale/zh_CN/LC_MESSAGES/cimhouse.mo

WEB_ASSETS := cimhouse/web/vendor/.fetched

install: $(POSTGIS) $(MOSQUITTO) $(VENV)/.installed $(MO) $(WEB_ASSETS)

# Debian's MQTT broker for device readings (cimhouse broker start runs it under var/mqtt;
# the package's own service is not used).
MOSQUITTO := /usr/sbin/mosquitto
$(MOSQUITTO):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		mosquitto >/dev/null

# GraphiQL and MapLibre from the npm registry, each file checked against its pinned SHA-384
# (cimhouse/web/assets.py); served by the app itself, so the pages need no internet.
$(WEB_ASSETS): cimhouse/web/assets.py $(VENV)/.installed
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		npm >/dev/null; }
	$(PY) -m cimhouse.web.assets fetch
	touch $@

# Headless Chromium (Debian's) for the browser tests of GraphiQL and the map.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium fonts-noto-cjk >/dev/null

chromium: $(CHROMIUM)

# The pages in a real browser (tests marked "browser" skip without chromium).
test-browser: install $(CHROMIUM)
	$(PY) -m pytest -m browser $(PYTEST_ARGS)

# Screenshots of the map and GraphiQL for docs/ (made again by this target).
screenshots: install $(CHROMIUM)
	$(PY) scripts/screenshots.py docs/img

# The Chinese catalog, compiled from the committed .po with Babel (cimhouse.i18n.catalogs).
$(MO): cimhouse/locale/zh_CN/LC_MESSAGES/cimhouse.po $(VENV)/.installed
	$(PY) -m cimhouse.i18n compile >/dev/null

$(POSTGIS):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		postgresql-15-postgis-3 >/dev/null

$(OGRINFO):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		gdal-bin >/dev/null

# Citus 13.0.5 from the vendored source (no registry ships it for PostgreSQL 15; production
# installs use Citus's own packages). Built only when the installed extension is missing or another
# version: the installed extension stays between runs of the same machine and is the cache.
# with_llvm=no: no JIT bitcode (it doubles the build time; the tests do not use JIT).
CITUS_VERSION := 13.0.5
CITUS_TARBALL := ../shared/vendor/citus/citus-$(CITUS_VERSION).tar.gz
CITUS_SO := /usr/lib/postgresql/15/lib/citus.so
CITUS_CONTROL := /usr/share/postgresql/15/extension/citus.control
CITUS_EXT_VERSION := 13.0-1
CITUS_BUILD := $(or $(TMPDIR),/tmp)/cimhouse-citus-build

citus: $(POSTGIS)
	@if [ -f $(CITUS_SO) ] && grep -qa 'Citus $(CITUS_VERSION) ' $(CITUS_SO) \
		&& grep -q "default_version = '$(CITUS_EXT_VERSION)'" $(CITUS_CONTROL); then \
		echo "citus $(CITUS_VERSION) already installed"; \
	else \
		set -e; \
		pgver=$$(dpkg-query -W -f='$${Version}' postgresql-15); \
		$(SUDO) apt-get update -qq; \
		$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			postgresql-server-dev-15=$$pgver libcurl4-openssl-dev liblz4-dev libzstd-dev \
			libkrb5-dev libssl-dev autoconf flex bison gcc make >/dev/null; \
		rm -rf $(CITUS_BUILD) && mkdir -p $(CITUS_BUILD); \
		tar -xzf $(CITUS_TARBALL) -C $(CITUS_BUILD); \
		cd $(CITUS_BUILD)/citus-$(CITUS_VERSION) && ./configure >/dev/null \
			&& $(MAKE) -s -j2 with_llvm=no >/dev/null \
			&& $(SUDO) $(MAKE) -s install with_llvm=no >/dev/null; \
		rm -rf $(CITUS_BUILD); \
		echo "citus $(CITUS_VERSION) built and installed"; \
	fi

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
	scripts/demo-safety.sh
	$(CIM) serve --host $(HOST) --port $(PORT) --dev

test: install $(OGRINFO) $(CHROMIUM)
	$(PY) -m pytest $(PYTEST_ARGS)

# The whole suite on a local Citus cluster (coordinator + 2 workers, distributed tables),
# started and stopped by the test fixtures (tests/conftest.py).
test-citus: install citus $(OGRINFO)
	CIMHOUSE_TEST_CITUS=1 $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check cimhouse tests bench migrations
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench

bench: install
	$(PY) bench/run_all.py

clean:
	-@[ -x $(CIM) ] && $(CIM) broker stop >/dev/null 2>&1 || true
	-@[ -x $(CIM) ] && $(CIM) db stop >/dev/null 2>&1 || true
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
