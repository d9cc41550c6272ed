# freev2g: every target bootstraps what it needs (virtualenv, pip packages, the C build,
# Debian packages for the network tests), so a fresh clone needs only `make demo` / `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.freev2g-installed
TEST_STAMP := $(VENV)/.freev2g-test-installed
PLUGINS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
PLUGIN_TESTS := $(wildcard plugins/*/tests)

.PHONY: pki interop-env exi-gen all demo test test-fast test-sanitizer bench sdist-check clean system-deps

all: test

# Debian packages: iproute2 (ip netns / veth for the Ethernet tests). Installed only when missing.
system-deps:
	@if ! command -v ip >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; \
	  else echo "note: 'ip' (iproute2) missing and cannot be installed; network-namespace tests will report why they cannot run"; fi; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

# setuptools prints an "Editable installation" note for an editable install whose package lives
# in another folder (freev2g = core/); it is no warning about this project: filtered by its text.
$(STAMP): $(VENV)/bin/python pyproject.toml setup.py $(wildcard plugins/*/pyproject.toml) $(wildcard core/cext/*.c core/cext/*.h core/cext/*.py)
	PYTHONWARNINGS="ignore:Editable installation" $(PIP) install -q -e '.[test]' $(foreach p,$(PLUGINS),-e $(p))
	@touch $@

# The example third-party plugin (tests/third_party_plugin) is installed for the tests only, so
# `make demo` leaves it out of the user's `freev2g --help` and `freev2g plugins`.
$(TEST_STAMP): $(STAMP) tests/third_party_plugin/pyproject.toml
	$(PIP) install -q -e tests/third_party_plugin
	@touch $@

demo: system-deps $(STAMP)
	$(VENV)/bin/freev2g simulate --protocol iso2 --mode dc --scale --speed 10 --report-dir reports/demo

test: system-deps $(TEST_STAMP) interop-env
	$(PY) -m pytest -q -p no:cacheprovider tests $(PLUGIN_TESTS)
	$(MAKE) --no-print-directory test-sanitizer

test-fast: $(TEST_STAMP)
	$(PY) -m pytest -q -x -p no:cacheprovider tests $(PLUGIN_TESTS) -m "not slow and not netns and not interop"

# Josev (iso15118==0.31.1 + Java) and pyslac in their own virtualenvs for the interop tests
# (tests/interop); fast when already set up.
interop-env:
	bash tests/interop/setup_env.sh

# The C core's property tests again, against an AddressSanitizer + UBSan build of the same sources.
test-sanitizer: $(STAMP)
	bash tests/sanitizer/run.sh $(PY)

bench: system-deps $(STAMP)
	$(PY) bench/run_all.py

sdist-check: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/core/test_packaging.py

# EXI codec: regenerate the grammar tables (core/cext/exi_tables*) and Python type descriptions
# (core/exi/_schema_*.py) from the XSDs of the iso15118 wheel (downloaded into build/xsd/).
exi-gen: $(VENV)/bin/python
	$(PY) tools/exigen/generate.py

# Test PKI for TLS / Plug & Charge (plugins/v2g_wire): V2G, OEM and MO chains for ISO 15118-2
# (secp256r1) and -20 (secp521r1) in build/pki/ (git-ignored; test keys, never committed).
pki: $(STAMP)
	$(PY) -m freev2g_v2g_wire.pki build/pki

clean:
	rm -rf $(VENV) build dist *.egg-info core/*.so core/_core.c reports .pytest_cache
