# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ $$(id -u) -eq 0 ] || echo sudo)

.PHONY: run test test-slow test-flink test-browser flink-up flink-down docs bench lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embeddings,dashboard]'
	# DuckDB of the 1.x line, apart from the project's: the tests open the warehouse with it, as BI tools do
	$(BIN)/pip install --quiet --target $(VENV)/duckdb1 'duckdb>=1.1,<2'
	touch $(STAMP)

install: $(STAMP)

## Generate sample data (if none), ingest, quality gate, dbt build, summary.
run: $(STAMP)
	$(BIN)/cx run --sample

## The dbt docs site (definitions next to every column, lineage, exposures) as one offline HTML file.
docs: run
	$(BIN)/cx docs

## The test suite: units, Beam wiring, vendor shapes through the whole job, and end to end on a small generated dataset.
test: $(STAMP)
	$(BIN)/pytest -q

## The slow proofs: crash safety under SIGKILL, incremental build equals a full refresh, replay, generator memory.
test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

## The ingest job on Apache Flink (a local Flink 1.19 standalone cluster, 1 TaskManager with 2 slots, Beam's
## job server and a Python worker pool; fetched from PyPI and Maven) against the local runner: the same
## counts, ids and rows, on a first and an incremental run.
test-flink: $(STAMP)
	flink/flink.sh up
	$(BIN)/pytest -q -m flink; status=$$?; flink/flink.sh down; exit $$status

## The HTML report opened in headless Chromium (Debian's package, installed here if missing): every section
## renders with data and no console error; a screenshot of each in test-artifacts/report/.
test-browser: $(STAMP)
	command -v chromium >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)
	$(BIN)/pytest -q -m browser

## Start / stop that cluster (http://localhost:8081), the Beam job server (localhost:8099) and the worker pool
## (localhost:50000); see flink/flink.sh.
flink-up:
	flink/flink.sh up

flink-down:
	flink/flink.sh down

## Static checks: ruff on the Python (pyflakes, import order, syntax); sqlfluff with the dbt templater
## on the dbt models (rules in dbt/.sqlfluff), compiled against an in-memory DuckDB.
lint: $(STAMP)
	$(BIN)/ruff check pipelines transforms benchmarks tests
	cd dbt && CX_DUCKDB_PATH=:memory: DBT_SEND_ANONYMOUS_USAGE_STATS=false ../$(BIN)/sqlfluff lint models

## Ingest vs a DuckDB-native baseline, dbt build and cx run; EVENTS=1000000,5000000 for the scaling check.
EVENTS ?= 1000000
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --events $(EVENTS)

clean:
	rm -rf data/raw data/warehouse dbt/target dbt/logs
