"""SQL layer benchmark (not a test): it prints figures for the README.

    .venv/bin/python benchmarks/bench_sql.py --lake LAKE [--repeat 5]
    .venv/bin/python benchmarks/bench_sql.py --make bench-data/sql [--shards 2]   # build a lake, then measure

Reports, on one lake (local or s3://):
  1. the time to open it (attach the catalog, define every view of the SQL files);
  2. latency of qa_summary, vendor_summary and two per-interaction emotion queries (emotion of one
     interaction; valence/arousal synchrony of the partners of every interaction): first run and the median
     of the repeats, each on the same connection;
  3. label/split pruning: EXPLAIN ANALYZE of the same frames scan with and without a partition filter
     (`Total Files Read` counts the Parquet files read), and the time of both.

`--make DIR` writes a bench-scale release (`silake sample --scale bench`, improvised/train) plus the demo
release's other partitions, and ingests both into DIR/lake, so that the lake has several label/split
partitions to prune.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from silake.lake.sqltext import sql_literal
from silake.query.connection import connect

SILAKE = [sys.executable, "-m", "silake.cli"]

EMOTION_SYNC_SQL = """
-- per interaction: how the partners' per-second valence and arousal move together
SELECT
    a.interaction_key,
    count(*) AS seconds,
    corr(a.mean_valence, b.mean_valence) AS valence_corr,
    corr(a.mean_arousal, b.mean_arousal) AS arousal_corr,
    avg((a.dominant_emotion = b.dominant_emotion)::INTEGER) AS same_dominant_share
FROM emotion_per_second AS a
JOIN emotion_per_second AS b
    ON b.interaction_key = a.interaction_key
    AND b.second = a.second
    AND a.participant_id < b.participant_id
GROUP BY a.interaction_key
ORDER BY a.interaction_key
"""


def make_lake(data: Path, shards: int) -> Path:
    """A bench-scale lake with several partitions (see the module docstring)."""
    bench, demo, lake = data / f"bench-release-{shards}", data / "demo-release", data / "lake"
    if not any(bench.glob("*/*/*/*.tar")):
        subprocess.run([*SILAKE, "sample", "--scale", "bench", "--shards", str(shards), "--out", str(bench),
                        "--overwrite"], check=True)
    if not any(demo.glob("*/*/*/*.tar")):
        subprocess.run([*SILAKE, "sample", "--out", str(demo), "--overwrite"], check=True)
    subprocess.run([*SILAKE, "ingest", str(bench), "--lake", str(lake), "--no-progress"], check=True)
    others = [str(p) for p in sorted(demo.glob("*/*/*/*.tar")) if p.parts[-4:-2] != ("improvised", "train")]
    subprocess.run([*SILAKE, "ingest", *others, "--lake", str(lake), "--metadata", str(demo),
                    "--no-progress"], check=True)
    return lake


def timed(con: duckdb.DuckDBPyConnection, sql: str, repeat: int) -> tuple[float, float, int]:
    """(first run s, median of the next `repeat` runs s, rows)."""
    times, n = [], 0
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        n = len(con.sql(sql).fetchall())
        times.append(time.perf_counter() - t0)
    return times[0], statistics.median(times[1:]) if repeat else times[0], n


def explain(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    return "\n".join(row[1] for row in con.sql(f"EXPLAIN ANALYZE {sql}").fetchall())


def files_read(plan: str) -> int:
    return sum(int(n) for n in re.findall(r"Total Files Read: (\d+)", plan))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--lake", help="lake root (directory or s3:// prefix)")
    where.add_argument("--make", type=Path, help="build a bench lake under this directory first")
    parser.add_argument("--shards", type=int, default=2, help="bench shards for --make (default 2)")
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per query (default 5)")
    args = parser.parse_args(argv)
    lake = str(make_lake(args.make, args.shards)) if args.make else args.lake

    t0 = time.perf_counter()
    con = connect(lake)
    opened = time.perf_counter() - t0
    files, frames, hours = con.sql("SELECT count(*), coalesce(sum(n_frames), 0), "
                                   "coalesce(sum(duration_s), 0) / 3600 FROM files").fetchone()
    parts = con.sql(
        "SELECT label, split, count(*) AS n FROM files GROUP BY ALL ORDER BY n, label, split").fetchall()
    n_parquet = con.sql("SELECT count(*) FROM __ducklake_metadata_lake.ducklake_data_file "
                        "WHERE end_snapshot IS NULL").fetchone()
    print(f"lake {lake}")
    print(f"  {files} files, {frames} frames, {hours:.2f} h, {n_parquet[0]} live data files, partitions: "
          + ", ".join(f"{label}/{split} ({n})" for label, split, n in parts))
    print(f"  open (attach the catalog, define every view): {opened * 1000:.0f} ms")

    longest = con.sql("SELECT interaction_key FROM files WHERE has_movement GROUP BY ALL "
                      "ORDER BY sum(n_frames) DESC, interaction_key LIMIT 1").fetchone()
    queries = {
        "qa_summary": "SELECT * FROM qa_summary",
        "vendor_summary": "SELECT * FROM vendor_summary",
        "emotion_per_second, one interaction": (
            f"SELECT * FROM emotion_per_second WHERE interaction_key = {sql_literal(longest[0])} "
            "ORDER BY participant_id, second") if longest else None,
        "emotion synchrony, every interaction": EMOTION_SYNC_SQL,
    }
    print(f"\nlatency (first run / median of {args.repeat} warm runs):")
    for name, sql in queries.items():
        if sql is None:
            print(f"  {name:40s} skipped: no movement files in the lake")
            continue
        first, warm, n = timed(con, sql, args.repeat)
        print(f"  {name:40s} {first * 1000:8.1f} ms / {warm * 1000:8.1f} ms  ({n} rows)")

    label, split, _ = parts[0] if parts else ("improvised", "dev", 0)
    scan = "SELECT count(*), avg(smplh_translation[1]) FROM frames"
    filtered = f"{scan} WHERE label = {sql_literal(label)} AND split = {sql_literal(split)}"
    by_split = f"{scan} WHERE split = 'dev'"
    n_frames_files = con.sql("SELECT count(*) FROM ducklake_list_files('lake', 'frames')").fetchone()[0]
    print("\nlabel/split pruning (data files of the frames table read):")
    for name, sql in (("no filter", scan), (f"label = '{label}' AND split = '{split}'", filtered),
                      ("split = 'dev'", by_split)):
        _, warm, _ = timed(con, sql, max(args.repeat, 1))
        print(f"  frames, {name:45s} read {files_read(explain(con, sql)):3d}/{n_frames_files} files, "
              f"{warm * 1000:8.1f} ms")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
