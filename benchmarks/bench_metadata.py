"""Loading the metadata CSVs at the release's row counts: what every `silake ingest` pays before its workers
start (the bench shards' own filelist lists only their ~50 files; the release's lists 129,370).

Writes filelist.csv, participants.csv and relationships.csv with `METADATA_ROWS` rows each (valid rows in
the release's spelling: 0/1 flags, ids as strings) into a temporary folder, then times `read_csv` of each and
the whole `load_metadata` (median of --repeat runs, wall and CPU, one process, imports done beforehand).

    .venv/bin/python benchmarks/bench_metadata.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from silake.metadata.csv_tables import read_csv
from silake.metadata.load import load_metadata
from silake.schemas.ids import make_file_id
from silake.schemas.records import CSV_HEADERS
from silake.schemas.release import METADATA_FILES, METADATA_ROWS


def write_csvs(root: Path, seed: int = 0) -> dict[str, str]:
    """Release-sized filelist, participants and relationships CSVs under `root`; name -> path."""
    rng = np.random.default_rng(seed)
    n_files, n_parts, n_rels = (METADATA_ROWS[n] for n in ("filelist", "participants", "relationships"))
    rows: dict[str, list[list[object]]] = {"filelist": [], "participants": [], "relationships": []}
    for i in range(n_files):
        session, interaction = 1000 + i // 40, i // 2
        file_id = make_file_id(f"{i % 4:02d}", f"{session:04d}", f"{interaction:08d}", f"{100 + i % 2:04d}")
        rows["filelist"].append([file_id, "improvised" if i % 3 else "naturalistic", "train", i // 2000,
                                 (i // 40) % 50, *(int(b) for b in rng.random(3) < 0.7)])
    for i in range(n_parts):
        rows["participants"].append([*np.round(rng.uniform(1, 5, 5), 4), f"{i % 4:02d}", f"{i:04d}"])
    for i in range(n_rels):
        rows["relationships"].append([f"V{i % 4:02d}", f"{1000 + i:04d}", "stranger", "stranger"])
    uris: dict[str, str] = {}
    for name, body in rows.items():
        path = root / METADATA_FILES[name]
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(CSV_HEADERS[name])
            writer.writerows(body)
        uris[name] = str(path)
    return uris


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="silake-bench-metadata-") as tmp:
        uris = write_csvs(Path(tmp))
        load_metadata(uris)  # warm: imports, pydantic schemas
        print("| CSV | rows | wall | CPU |\n|---|---:|---:|---:|")
        for name, uri in uris.items():
            wall, cpu = timed(lambda n=name, u=uri: read_csv(n, u), args.repeat)
            print(f"| {METADATA_FILES[name]} | {METADATA_ROWS[name]:,} | {wall:.2f} s | {cpu:.2f} s |")
        wall, cpu = timed(lambda: load_metadata(uris), args.repeat)
        print(f"| `load_metadata` (all three, join index) | | {wall:.2f} s | {cpu:.2f} s |")
        print(f"\nmedian of {args.repeat} runs")


if __name__ == "__main__":
    main()
