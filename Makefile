# The two commands of the README:
#   make run    set up what running needs (first time) and map the bundled default network
#               onto the default 8x8 mesh
#   make test   also set up the development tools (first time), run the whole test suite and
#               build the documentation with --strict (what .ci/run calls)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUN_STAMP := $(VENV)/.canmore-run
DEV_STAMP := $(VENV)/.canmore-dev

.PHONY: run test lint docs bench setup

setup: $(DEV_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is pinned through constraints.txt so that pip takes the tested CPU wheel
# instead of resolving a newer build with several GB of CUDA packages.
$(RUN_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(RUN_STAMP)

# The development extra: pytest, ruff, mypy, Dask, MkDocs, mkdocs-material, mkdocstrings.
$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/canmore-sim map

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -n 2
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs: $(DEV_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy canmore_sim models mapper cores noc energy datasets
