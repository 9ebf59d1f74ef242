# Two entry points for a fresh machine: `make demo` and `make test`. Everything else is setup they share.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
DEMO := demo

.PHONY: setup demo test lint typecheck bench bench-formats bench-startup screenshot clean

$(BIN)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 silake pipelines schemas  # editable: our own sources too
	touch $@

setup: $(BIN)/.installed

## demo: generate the embedded sample release (once), ingest it into a local lake (incrementally), query it,
## write its report (demo/report.html).
demo: setup
	test -f $(DEMO)/release/filelist.csv || $(BIN)/silake sample --out $(DEMO)/release --seed 0 --overwrite
	$(BIN)/silake ingest $(DEMO)/release --lake $(DEMO)/lake
	$(BIN)/silake query --lake $(DEMO)/lake "select label, split, count(*) as files, sum(n_frames) as frames from files group by all order by all"
	$(BIN)/silake query --lake $(DEMO)/lake "select flag, any_value(severity) as severity, count(*) as files from qa_flags group by all order by files desc, flag"
	$(BIN)/silake report --lake $(DEMO)/lake --out $(DEMO)/report.html

## test: the whole test suite (servers on loopback are started by the tests themselves; PostgreSQL and
## Chromium come from Debian and are installed first when missing).
test: lint
	infra/local/system-packages.sh
	$(BIN)/python -m pytest -q

## lint: ruff, the type checker (mypy) and the duplicate-code check; `make test` runs it first.
lint: setup typecheck
	$(BIN)/ruff check .
	infra/local/duplicates.sh

typecheck: setup
	infra/local/typecheck.sh

## bench: the ingest benchmark on 32 bench-scale shards (~36 GB under bench-data/, generated once).
bench: setup
	$(BIN)/python benchmarks/bench_ingest.py --shards 32

## bench-formats: DuckLake vs Delta Lake on silake's commit workload (installs the bench extra's lock first).
bench-formats: setup
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r benchmarks/requirements.lock
	$(BIN)/python benchmarks/bench_table_formats.py

## bench-startup: start-up, bad-input and small-run figures per local mode, with and without bytecode.
bench-startup: setup
	$(BIN)/python benchmarks/bench_startup.py

## screenshot: docs/report.png, the demo lake's report in headless Chromium (after `make demo`).
screenshot: setup
	infra/local/system-packages.sh
	$(BIN)/python tests/browser.py $(DEMO)/report.html --screenshot docs/report.png --full-page

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
