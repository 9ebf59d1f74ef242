"""`silake info`: what a lake holds, at a glance - from the catalog and the per-file rows, never the frames.

    lake ROOT  (catalog ..., snapshot N of the lake, its time and run)
    data: F data files, B bytes (and with the files older snapshots keep); silake VERSION
    then per label, split and vendor: files, interactions, participants, hours, frames, QA pass rate (totals last)
"""

from __future__ import annotations

import json
import sys
from typing import Any

import duckdb

from silake.lake.catalog import LakeError

from .connection import connect, current_snapshot, open_lake
from .render import render, table_width

BREAKDOWN_SQL = """
SELECT
    f.label, f.split, f.vendor_id,
    count(*) AS files,
    count(DISTINCT f.interaction_key) AS interactions,
    count(DISTINCT (f.vendor_id, f.participant_id)) AS participants,
    round(sum(f.duration_s) / 3600, 3) AS hours,
    sum(f.n_frames) AS frames,
    round(avg(q.qa_pass::INTEGER), 3) AS qa_pass_rate
FROM files AS f
JOIN file_qa AS q USING (file_id, label, split)
GROUP BY GROUPING SETS ((f.label, f.split, f.vendor_id), ())
ORDER BY f.label NULLS LAST, f.split, f.vendor_id
"""


#: Data and delete files from the catalog (never a listing of the storage): those the snapshot reads, and
#: every file some snapshot still needs (what the lake holds on disk until `silake vacuum`).
FILES_SQL = """
WITH f AS (
    SELECT begin_snapshot, end_snapshot, file_size_bytes FROM __ducklake_metadata_lake.ducklake_data_file
    UNION ALL
    SELECT begin_snapshot, end_snapshot, file_size_bytes FROM __ducklake_metadata_lake.ducklake_delete_file
)
SELECT
    count(*) FILTER (WHERE begin_snapshot <= {snapshot} AND coalesce(end_snapshot > {snapshot}, true)),
    sum(file_size_bytes) FILTER (WHERE begin_snapshot <= {snapshot} AND coalesce(end_snapshot > {snapshot}, true)),
    count(*),
    sum(file_size_bytes)
FROM f
"""


def lake_info(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The facts `silake info` shows, as plain values."""
    snap = current_snapshot(con)
    time, run_id, total = con.execute(
        f"SELECT strftime(snapshot_time, '%Y-%m-%d %H:%M:%S'), json_extract_string(commit_extra_info, '$.run_id'), "
        f"(SELECT max(snapshot_id) FROM ducklake_snapshots('lake')) FROM ducklake_snapshots('lake') "
        f"WHERE snapshot_id = {snap}").fetchone() or (None, None, None)
    live_files, live_bytes, kept_files, kept_bytes = con.execute(FILES_SQL.format(snapshot=snap)).fetchone() \
        or (0, 0, 0, 0)
    rel = con.sql(BREAKDOWN_SQL)
    rows = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    return {"snapshot": snap, "latest_snapshot": total, "snapshot_time": time, "snapshot_run_id": run_id,
            "data_files": int(live_files), "bytes": int(live_bytes or 0), "files_kept": int(kept_files),
            "bytes_kept": int(kept_bytes or 0), "partitions": rows}


def human_bytes(n: float) -> str:
    """1234567 -> '1.2 MB' (powers of 1000, as disks are sold)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def run_info(args: Any) -> int:
    """`silake info --lake ROOT [--snapshot N] [--format table|csv|json]`."""
    from silake import __version__

    try:
        lake = open_lake(args.lake, catalog=args.catalog)
        con = connect(lake, snapshot=args.snapshot)
    except (LakeError, duckdb.Error, OSError) as exc:
        print(f"silake info: {exc}", file=sys.stderr)
        return 1
    try:
        info = lake_info(con)
    finally:
        con.close()
    info = {"lake": lake.root, "catalog": lake.catalog.public(), "silake_version": __version__, **info}
    if args.format == "json":
        json.dump(info, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
        return 0
    partitions = info["partitions"]
    columns = list(partitions[0]) if partitions else ["label", "split", "vendor_id", "files"]
    rows = [[("total" if c == "label" else "") if r["label"] is None and c in ("label", "split", "vendor_id")
             else r[c] for c in columns] for r in partitions]
    if args.format == "table":
        latest = "" if info["snapshot"] == info["latest_snapshot"] else f" (the latest is {info['latest_snapshot']})"
        run = f", run {info['snapshot_run_id']}" if info["snapshot_run_id"] else ""
        print(f"lake {info['lake']} (catalog {info['catalog']})\n"
              f"snapshot {info['snapshot']}{latest}, {info['snapshot_time']} UTC{run}\n"
              f"{info['data_files']} data files, {human_bytes(info['bytes'])} ({info['files_kept']} files, "
              f"{human_bytes(info['bytes_kept'])} with those older snapshots keep); silake {__version__}\n")
    render(columns, rows, args.format, sys.stdout,
           table_width(sys.stdout, getattr(args, "max_width", None), getattr(args, "wide", False)))
    return 0
