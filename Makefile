# Setup and the two Quick start jobs. Every target builds its own virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-installed

.PHONY: setup run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,hypatia]'
	$(BIN)/python -m pip install --quiet --no-deps 'satgenpy==0.4.0'
	touch $(STAMP)

setup: $(STAMP)

## The main job: the demo report (visible satellites over Kyiv and Taipei now).
run: $(STAMP)
	$(BIN)/leosim demo

## The test suite: lint, then every test (slow ones included).
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info
