"""Where the launcher of `silake ingest` spends its time: each step's wall and CPU, in the launcher process
only (the workers are other processes). Not a test: it prints the figures behind the README's launcher
paragraph.

    .venv/bin/python benchmarks/bench_launcher.py <silake ingest arguments>
    .venv/bin/python benchmarks/bench_launcher.py bench-data/release-32/improvised/train/0000/000[0-7].tar \
        --metadata bench-data/release-32 --lake /tmp/lk --no-progress

Each step is one of the product's own functions, wrapped: `process CPU` counts every thread of the launcher
while the step runs (DuckDB's threads included, and the commit thread's work while the shards run), `own
CPU` the calling thread's. The steps of the commit thread (views, release tables) overlap the shards.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import silake.commit_loop  # noqa: F401  (imported before wrapping, as the CLI would)
import silake.ingest as ingest
import silake.metadata.load as metadata_load
import silake.query.views as views
from silake.lake import committer, maintenance, session  # noqa: F401

T0 = time.perf_counter()
ROWS: list[tuple[float, str, float, float, float, str]] = []


def wrap(owner: Any, name: str, label: str) -> None:
    fn: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        w0, c0, t0 = time.perf_counter(), time.process_time(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            ROWS.append((w0 - T0, label, time.perf_counter() - w0, time.process_time() - c0,
                         time.thread_time() - t0, threading.current_thread().name))

    setattr(owner, name, timed)


STEPS = [
    (session.CatalogWriter, "__enter__", "open the catalog"),
    (committer.Committer, "recover", "settle dead runs"),
    (metadata_load, "load_metadata", "load the metadata CSVs (own thread)"),
    (metadata_load.BackgroundLoad, "result", "wait for the metadata"),
    (ingest, "plan_ingest", "plan (committed versions)"),
    (session.CatalogWriter, "claim", "claim the lake"),
    (views, "publish_views", "store the views"),
    (ingest, "commit_release_tables", "commit the metadata tables"),
    (ingest, "_run_shards", "shards (workers)"),
    (committer.Committer, "finish", "last commit"),
    (committer.Committer, "compact_if_needed", "compaction check"),
    (session.CatalogWriter, "__exit__", "close the catalog"),
]


def main() -> None:
    for owner, name, label in STEPS:
        wrap(owner, name, label)
    from silake.cli import main as cli

    sys.argv = ["silake", "ingest", *sys.argv[1:]]
    try:
        cli()
    except SystemExit as exc:
        if exc.code:
            raise
    finally:
        total = time.process_time()
        print("\n| starts at | step | wall | process CPU | own CPU | thread |\n|---:|---|---:|---:|---:|---|")
        for start, label, wall, cpu, own, thread in sorted(ROWS):
            print(f"| {start:.2f} s | {label} | {wall:.2f} s | {cpu:.2f} s | {own:.2f} s | {thread} |")
        print(f"\nlauncher process: {total:.2f} s CPU in all, {time.perf_counter() - T0:.2f} s wall "
              "(from this script's imports on)")


if __name__ == "__main__":  # the worker processes are spawned: they import this file, they must not run it
    main()
