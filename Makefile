# Two commands for a fresh machine: `make run` and `make test`.
PYTHON := .venv/bin/python
DATA ?= data/shuttle.csv.gz
LABEL ?= target
SCHEMA ?= schema/shuttle.pbtxt
OUTPUT ?= output
ARGS ?=
# The worker image for Vertex AI (see Dockerfile); set it to your Artifact Registry path.
IMAGE ?= us-docker.pkg.dev/PROJECT/REPO/imbalanced-tfx:0.1.0

.PHONY: setup run test lint bench bench-imbalance bench-direct-runner bench-cache bench-wide bench-overhead image push-image clean

setup:
	@bash scripts/setup.sh

run: setup
	$(PYTHON) pipeline_runner.py run --data $(DATA) --label $(LABEL) --output $(OUTPUT) \
		$(if $(SCHEMA),--set data.schema=$(SCHEMA)) $(ARGS)

lint: setup
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

# One pytest worker per core, at most 4 (a whole-pipeline test peaks near 3 GB); whole
# files per worker, so a file's module fixture (one pipeline run) runs once.
test: setup lint
	$(PYTHON) -m pytest -n auto --maxprocesses 4 --dist loadfile

# This pipeline vs the stock TFX template and one-file scripts; rewrites its section of
# BENCHMARKS.md and bench/results/compare.json. E.g. make bench DATASETS=satimage,shuttle
bench: setup
	$(PYTHON) bench/compare.py $(if $(DATASETS),--datasets $(DATASETS))

# Long, real-data benchmarks; results go to BENCHMARKS.md by hand from their output.
bench-imbalance: setup
	$(PYTHON) bench/imbalance.py

bench-direct-runner: setup
	$(PYTHON) bench/direct_runner.py

bench-cache: setup
	$(PYTHON) bench/cache.py

bench-wide: setup
	$(PYTHON) bench/wide.py

bench-overhead: setup
	$(PYTHON) bench/overhead.py $(if $(DATASETS),--datasets $(DATASETS))

# linux/amd64: Vertex AI's workers and the TFX image are x86-64 only.
image:
	docker build --platform linux/amd64 -t $(IMAGE) .

push-image: image
	docker push $(IMAGE)

clean:
	rm -rf $(OUTPUT)
