# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow docs bench lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embeddings]'
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
