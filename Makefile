# Setup and the two Quick start jobs. Every target builds its own virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-installed
WEB_STAMP := src/leosim/web/static/cesium/Cesium.js

.PHONY: setup run test lint bench browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[serve,dask,test,hypatia,data,capacity]'
	$(BIN)/python -m pip install --quiet --no-deps 'satgenpy==0.4.0'
	touch $(STAMP)

# The globe's CesiumJS assets, copied from the npm package (pinned in web/package-lock.json).
$(WEB_STAMP): web/package-lock.json scripts/build_web_assets.sh
	bash scripts/build_web_assets.sh || echo "note: web assets not built (needs npm); the globe tests will skip"

# Debian's Chromium for the browser tests (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "note: chromium not installed; the browser tests will skip"; }

setup: $(STAMP) $(WEB_STAMP)

## The main job: the seed scenario and its report.
run: $(STAMP)
	$(BIN)/leosim run examples/ukraine-taiwan-2024.toml --out results/ukraine-taiwan-2024

## The test suite: lint, then every test (slow and browser tests included). For a quick loop while
## developing: .venv/bin/python -m pytest -m "not slow" (tests over ~5 s are marked slow).
test: $(STAMP) $(WEB_STAMP) browser
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info src/leosim/web/static/cesium web/node_modules
