# The two commands of the README:
#   make run    set up (first time) and map the bundled default network onto the default 8x8 mesh
#   make test   set up (first time) and run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.canmore-installed

.PHONY: run test lint bench setup

setup: $(STAMP)

# torch is pinned through constraints.txt so that pip takes the tested CPU wheel
# instead of resolving a newer build with several GB of CUDA packages.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/canmore-sim map

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy canmore_sim models mapper cores noc energy datasets
