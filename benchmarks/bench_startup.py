"""Start-up and small-run benchmark: what a user waits for before any real work. Not a test: it prints a
Markdown table for the README.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 3] [--data bench-data/startup]

Every figure is a whole `silake` process (wall seconds and CPU seconds of the process and its children,
median of --repeat runs) on the embedded demo release (11 shards) and its lake:

  * without bytecode: the same command with Python pointed at an empty bytecode cache (PYTHONPYCACHEPREFIX)
    and PYTHONDONTWRITEBYTECODE=1, i.e. what every process paid when the install compiled nothing;
  * --version, a bad source path, `silake query` on the demo lake, `silake info`;
  * the demo ingest into a fresh lake in each local mode (in-process, threads, processes, and Beam's
    FnApiRunner in multi-processing mode, the previous default), and a no-op re-run.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SILAKE = [sys.executable, "-m", "silake.cli"]


def adopt_orphans() -> None:
    """Make this process the reaper of every process its children leave behind (Linux prctl
    PR_SET_CHILD_SUBREAPER): the workers' fork server exits a moment after the launcher, and its CPU time
    (with its workers') counts in RUSAGE_CHILDREN only once this process has waited for it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1)  # 36 = PR_SET_CHILD_SUBREAPER


def reap_orphans() -> None:
    """Wait for every descendant that was handed to this process (see `adopt_orphans`)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def timed(cmd: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,),
          before: list[str] | None = None) -> tuple[float, float]:
    """(wall s, CPU s of the process tree) of one run of `cmd`; `before` runs first, untimed."""
    if before:
        subprocess.run(before, check=True, capture_output=True)
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    reap_orphans()
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr}")
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return wall, cpu


def median_of(repeat: int, fn: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    runs = [fn() for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("bench-data/startup"))
    args = parser.parse_args()
    adopt_orphans()
    data = args.data.resolve()
    release, lake = data / "release", data / "lake"
    if not (release / "filelist.csv").exists():
        subprocess.run([*SILAKE, "sample", "--out", str(release), "--overwrite"], check=True, capture_output=True)
    if not (lake / "silake.json").exists():
        subprocess.run([*SILAKE, "ingest", str(release), "--lake", str(lake), "--no-progress"], check=True,
                       capture_output=True)
    empty_cache = tempfile.mkdtemp(prefix="silake-nopyc-")
    no_pyc = {"PYTHONPYCACHEPREFIX": empty_cache, "PYTHONDONTWRITEBYTECODE": "1"}
    query = [*SILAKE, "query", "--lake", str(lake), "SELECT label, count(*) FROM files GROUP BY ALL"]
    rows: list[tuple[str, tuple[float, float], tuple[float, float] | None]] = []

    def row(name: str, cmd: list[str], *, compare: bool = True, ok: tuple[int, ...] = (0,),
            before: list[str] | None = None) -> None:
        with_pyc = median_of(args.repeat, lambda: timed(cmd, ok=ok, before=before))
        without = median_of(args.repeat, lambda: timed(cmd, no_pyc, ok=ok, before=before)) if compare else None
        rows.append((name, with_pyc, without))
        print(f"  {name}: {with_pyc[0]:.2f} s", file=sys.stderr, flush=True)

    row("silake --version", [*SILAKE, "--version"])
    row("ingest of a missing path (error)", [*SILAKE, "ingest", str(data / "nosuch"), "--lake",
                                             str(data / "nolake")], ok=(2,))
    row("silake query (demo lake)", query)
    row("silake info (demo lake)", [*SILAKE, "info", "--lake", str(lake)])
    fresh = data / "fresh"
    wipe = ["rm", "-rf", str(fresh)]
    for name, extra in (("in-process", ["--runner", "in-process"]),
                        ("threads (2)", ["--runner", "threads", "--workers", "2"]),
                        ("processes (2), the default", ["--workers", "2"]),
                        ("Beam FnApiRunner, 2 processes (before)", ["--runner", "FnApiRunner", "--workers", "2"])):
        cmd = [*SILAKE, "ingest", str(release), "--lake", str(fresh), "--no-progress", *extra]
        row(f"demo ingest, {name}", cmd, compare=name.startswith("processes"), before=wipe)
    row("no-op re-run of the ingest", [*SILAKE, "ingest", str(release), "--lake", str(lake), "--no-progress"])
    shutil.rmtree(empty_cache, ignore_errors=True)

    print(f"\n{os.cpu_count()} cores, Python {sys.version.split()[0]}, median of {args.repeat} runs; "
          "wall / CPU seconds of the whole process tree\n")
    print("| command | compiled bytecode | no bytecode |")
    print("|---|---:|---:|")
    for name, (wall, cpu), without in rows:
        other = f"{without[0]:.2f} / {without[1]:.2f}" if without else "-"
        print(f"| {name} | {wall:.2f} / {cpu:.2f} | {other} |")


if __name__ == "__main__":
    main()
