# imgpipe — every entry point a developer or CI needs. `make help` lists them.
# Each target installs what it needs itself, so a fresh clone runs `make demo` or `make test` alone.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
IMGPIPE := $(VENV)/bin/imgpipe
DATA_DIR ?= data
# Installed-state stamps: re-install only when a requirements file changes.
APP_STAMP := $(VENV)/.stamp-app
DEV_STAMP := $(VENV)/.stamp-dev
# The Functions worker's own protobuf/grpcio pins, in a folder of their own (tests/integration/test_worker_dependencies.py).
WORKER_DEPS := $(VENV)/worker-deps
WORKER_STAMP := $(WORKER_DEPS)/.stamp
SPARK_STAMP := $(VENV)/.stamp-spark
# checkov for infra/ lives in its own venv: its pins conflict with pytest's (requirements-infra.txt).
INFRA_VENV ?= .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.stamp-infra
CHECKOV := $(INFRA_VENV)/bin/checkov
export CHECKOV_BIN := $(abspath $(CHECKOV))
# Node stand-ins for Azure services (Azurite, @vercel/cosmosdb-server), pinned in package-lock.json.
NPM ?= npm
NODE_STAMP := node_modules/.package-lock.json
BLOB_PORT ?= 10000
COSMOS_PORT ?= 8081

.PHONY: help install dev demo test test-unit lint bench bench-profile clean infra-tools lint-infra node-deps azure-local \
	bench-azure smoke-azure browser serve screenshots spark java bench-spark

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(APP_STAMP): $(PY) requirements.txt requirements-local.txt pyproject.toml
	$(PIP) install --quiet -r requirements-local.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): $(APP_STAMP) requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

$(WORKER_STAMP): $(PY) requirements-worker.txt
	rm -rf $(WORKER_DEPS)
	$(PIP) install --quiet --no-deps --target $(WORKER_DEPS) -r requirements-worker.txt
	touch $@

$(SPARK_STAMP): $(APP_STAMP) requirements-spark.txt
	$(PIP) install --quiet -r requirements-spark.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	touch $@

$(INFRA_STAMP): requirements-infra.txt
	test -x $(INFRA_VENV)/bin/python || $(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/pip install --quiet -r requirements-infra.txt
	touch $@

install: $(APP_STAMP) ## create .venv with the app and the imgpipe CLI

dev: $(DEV_STAMP) ## install the app plus test and lint tools

spark: $(SPARK_STAMP) java ## install the Spark runtime: pyspark, deltalake, databricks-bundles, and Java 17 if missing
	@# The JVM class-data archive that halves a local session's start (imgpipe_spark/warm.py); made once.
	@if command -v java >/dev/null; then $(PY) -m imgpipe_spark.warm 2>/dev/null \
		|| echo "note: no class-data archive for Spark: local Spark runs start a few seconds slower"; fi

# Spark needs a Java runtime. CI runs as root on Debian: install it when missing; elsewhere say why not
# (the Spark tests then skip with that reason).
java: ## Java 17 for Spark: apt-get install openjdk-17-jre-headless when java is missing (needs root)
	@command -v java >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; } \
		|| echo "note: no Java and cannot install it (needs root and apt-get): the Spark tests will be skipped"

demo: install ## run the local pipeline on sample photos in ./data
	$(PY) -m imgpipe.samples $(DATA_DIR)/uploads
	# --settle 0: the samples were just written, whole; a cron run keeps the default and leaves fresh files
	$(IMGPIPE) --data-dir $(DATA_DIR) run --settle 0
	$(IMGPIPE) --data-dir $(DATA_DIR) records
	@echo "Bronze copies: $(DATA_DIR)/bronze, cleansed images: $(DATA_DIR)/silver, records: $(DATA_DIR)/gold/imgpipe.db."
	@echo "Next, try: '$(IMGPIPE) records --json', '$(IMGPIPE) review list', '$(IMGPIPE) --help'."
	@echo "Then review in the browser: run '$(IMGPIPE) --data-dir $(DATA_DIR) serve' (or 'make serve')"
	@echo "and open http://127.0.0.1:8080/review (j/k move, a accepts, 1-9 pick a category, u undoes)."

# Debian's chromium for the browser tests (tests/web), installed when missing: CI runs as root. Where it cannot be
# installed the browser tests skip and say why; Playwright's own browser download is never used.
CHROMIUM ?= /usr/bin/chromium
browser: ## install Debian's chromium for the browser tests (apt-get, as root) when it is missing
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "note: $(CHROMIUM) could not be installed (needs root and apt-get): the browser tests will be skipped"

serve: install ## the web app over ./data on http://127.0.0.1:8080/review (loopback only)
	$(IMGPIPE) --data-dir $(DATA_DIR) serve

screenshots: dev browser ## refresh the README's screenshots in docs/screenshots/ from the browser tests
	IMGPIPE_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest tests/web/test_browser.py -q

test: dev browser spark $(INFRA_STAMP) $(NODE_STAMP) $(WORKER_STAMP) ## install test dependencies and run the whole suite
	$(PY) -m pytest

test-unit: dev ## fast unit tests only
	$(PY) -m pytest tests/unit

lint: dev ## ruff and the import contracts (import-linter, pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

infra-tools: $(INFRA_STAMP) ## install checkov into .venv-infra

node-deps: $(NODE_STAMP) ## install Azurite and the Cosmos DB stand-in into node_modules (npm ci)

azure-local: dev $(NODE_STAMP) ## Azurite (blob 10000) + Cosmos DB stand-in (8081) on loopback until Ctrl-C; ports: BLOB_PORT, COSMOS_PORT
	$(PY) -m tests.integration.azure_services --blob-port $(BLOB_PORT) --cosmos-port $(COSMOS_PORT)

bench-azure: dev $(NODE_STAMP) ## time per image and Cosmos RU: run --backend azure (stand-ins) vs local
	$(PY) benchmarks/bench_azure.py

smoke-azure: dev $(if $(filter 1,$(SMOKE_DRY_RUN)),$(NODE_STAMP)) ## after `azd up`: upload test images to the deployment, check outcomes, DLQ, latency (SMOKE_DRY_RUN=1: stand-ins here)
	$(PY) -m tests.smoke $(if $(filter 1,$(SMOKE_DRY_RUN)),--dry-run,)

lint-infra: $(INFRA_STAMP) ## checkov over infra/ alone (suppressions only in place, with a reason)
	$(CHECKOV) -d infra --framework bicep --skip-download --compact

# BENCH_CLASSIFY_ARGS="--classifier-fp32 F --moderation-int8 F" adds rows for model files made by ml/export_*.py.
bench: dev ## benchmarks: cleanse vs naive Pillow vs pyvips vs djpeg, run throughput, classification cost, silver resample
	$(PIP) install --quiet -r requirements-bench.txt
	@command -v djpeg >/dev/null || echo "note: djpeg missing, its row is skipped (apt-get install libjpeg-turbo-progs)"
	$(PY) benchmarks/bench_cleanse.py
	$(PY) benchmarks/bench_classify.py $(BENCH_CLASSIFY_ARGS)
	$(PY) benchmarks/bench_resample.py
	$(MAKE) bench-spark

bench-profile: dev ## instructions per stage for one 12 MP JPEG (callgrind; needs valgrind)
	@command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind"; exit 1; }
	$(PY) benchmarks/profile_stages.py

bench-spark: dev spark ## images/s: imgpipe spark run --master local[2] vs imgpipe run --workers 2 (200 x 12 MP JPEG)
	$(PY) benchmarks/bench_spark.py

MODEL_PORT ?= 5001
.PHONY: serve-model
serve-model: dev ## Azure ML inference server (azmlinfsrv) running ml/score.py on 127.0.0.1:$(MODEL_PORT)
	$(PY) -m ml.local_server --entry_script ml/score.py --port $(MODEL_PORT)

clean: ## remove generated data and caches (keeps .venv)
	rm -rf $(DATA_DIR) .pytest_cache .ruff_cache .bench test-artifacts
