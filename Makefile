# make demo: set up and optimize the bundled example.  make test: set up and run the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install-llvm.sh scripts/install-cross.sh
	./scripts/install-llvm.sh
	./scripts/install-cross.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m compileall -q src  # bytecode even where PYTHONDONTWRITEBYTECODE is set: llmc cc starts in milliseconds
	touch $@

demo: setup
	LLMC_CACHE= $(BIN)/llmc optimize examples/checksum.c --budget 5 --validate

test: setup
	$(BIN)/python -m pytest -q tests

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/fuzz.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
