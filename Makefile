# Two commands for a fresh machine: `make run` and `make test`.
PYTHON := .venv/bin/python
DATA ?= data/shuttle.csv.gz
LABEL ?= target
SCHEMA ?= schema/shuttle.pbtxt
OUTPUT ?= output
ARGS ?=

.PHONY: setup run test lint bench-imbalance bench-direct-runner clean

setup:
	@bash scripts/setup.sh

run: setup
	$(PYTHON) pipeline_runner.py run --data $(DATA) --label $(LABEL) --output $(OUTPUT) \
		$(if $(SCHEMA),--set data.schema=$(SCHEMA)) $(ARGS)

lint: setup
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

test: setup lint
	$(PYTHON) -m pytest

# Long, real-data benchmarks; results go to BENCHMARKS.md by hand from their output.
bench-imbalance: setup
	$(PYTHON) bench/imbalance.py

bench-direct-runner: setup
	$(PYTHON) bench/direct_runner.py

clean:
	rm -rf $(OUTPUT)
