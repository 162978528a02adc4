# The README's two commands: `make run` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Debian packages: gmt-dcw (boundary source, rebuild + tests), gdal-bin (GDAL command-line checks),
# chromium (headless browser test of map.html).
DEBS := gmt-dcw gdal-bin chromium python3-qgis

.PHONY: run test debs clean-outputs geodata default-data

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml setup.py | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

# Installs the Debian packages when missing and we are root with apt; otherwise says what is missing
# (the tests that need them then skip with that reason). Another apt/dpkg process holding the lock is
# waited for up to DPKG_WAIT seconds; after that, or on any apt failure, one line says so and the tests
# run anyway (never a failed `make test` for it).
DPKG_WAIT ?= 120
debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt="apt-get -qq -o DPkg::Lock::Timeout=10"; end=$$(( $$(date +%s) + $(DPKG_WAIT) )); \
	    until { $$apt update && DEBIAN_FRONTEND=noninteractive $$apt install -y $$missing >/dev/null; } 2>/dev/null; do \
	      if [ $$(date +%s) -ge $$end ]; then \
	        echo "warning: Debian packages not installed:$$missing (apt/dpkg busy or failing for $(DPKG_WAIT) s); the tests that need them skip"; \
	        break; fi; \
	      sleep 5; done; \
	  else echo "warning: Debian packages missing:$$missing (run as root: apt-get install$$missing)"; fi; \
	fi

run: $(STAMP)
	$(VENV)/bin/clustermap run --config config/default.toml

test: $(STAMP) debs
	$(PY) -m pytest $(PYTEST_ARGS)

# Rebuild the committed derived files from their sources.
geodata: $(STAMP) debs
	$(PY) scripts/build_boundaries.py
	$(PY) scripts/build_supported_clusters.py

default-data: $(STAMP)
	$(PY) scripts/build_default_data.py

clean-outputs:
	rm -rf outputs
