# Two entry points for a fresh machine: `make demo` and `make test`. Everything else is setup they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
DEMO := demo

.PHONY: setup demo test lint bench bench-formats clean

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

setup: $(BIN)/.installed

## demo: generate the embedded sample release (once), ingest it into a local lake (incrementally), query it.
demo: setup
	test -f $(DEMO)/release/filelist.csv || $(BIN)/silake sample --out $(DEMO)/release --seed 0 --overwrite
	$(BIN)/silake ingest $(DEMO)/release --lake $(DEMO)/lake
	$(BIN)/silake query --lake $(DEMO)/lake "select label, split, count(*) as files, sum(n_frames) as frames from files group by all order by all"
	$(BIN)/silake query --lake $(DEMO)/lake "select flag, any_value(severity) as severity, count(*) as files from qa_flags group by all order by files desc, flag"

## test: the whole test suite (servers on loopback are started by the tests themselves).
test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

## bench: the ingest benchmark on 32 bench-scale shards (~36 GB under bench-data/, generated once).
bench: setup
	$(BIN)/python benchmarks/bench_ingest.py --shards 32

## bench-formats: DuckLake vs Delta Lake on silake's commit workload (installs the bench extra's lock first).
bench-formats: setup
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r benchmarks/requirements.lock
	$(BIN)/python benchmarks/bench_table_formats.py

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
