# The README's two commands: `make run` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Debian packages: gmt-dcw (boundary source, rebuild + tests), gdal-bin (GDAL command-line checks),
# chromium (headless browser test of map.html).
DEBS := gmt-dcw gdal-bin chromium

.PHONY: run test debs clean-outputs geodata default-data

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

# Installs the Debian packages when missing and we are root with apt; otherwise says what is missing
# (the tests that need them then skip with that reason).
debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: Debian packages missing:$$missing (run as root: apt-get install$$missing)"; fi; \
	fi

run: $(STAMP)
	$(VENV)/bin/clustermap run --config config/default.toml

test: $(STAMP) debs
	$(PY) -m pytest -q $(PYTEST_ARGS)

# Rebuild the committed derived files from their sources.
geodata: $(STAMP) debs
	$(PY) scripts/build_boundaries.py
	$(PY) scripts/build_supported_clusters.py

default-data: $(STAMP)
	$(PY) scripts/build_default_data.py

clean-outputs:
	rm -rf outputs
