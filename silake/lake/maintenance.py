"""Keeping a lake small and fast, and honouring deletions: compaction, snapshot expiry, file cleanup,
row deletion. Every function here runs with the lease held (it writes the catalog).

- `compact`: the small per-shard tables (everything but frames and hypernet) accumulate one file per shard
  and table; DuckLake's merge_adjacent_files rewrites them into few large files per partition, and inlined
  rows are flushed to Parquet. An ingest calls `maybe_compact` once a small table passes a file count.
- `vacuum`: expire snapshots older than the lake's retention (`expire_older_than`, 30 days unless
  changed), delete the files no remaining snapshot needs, and delete unreferenced files (what a killed
  worker wrote).
- `delete_files`: remove every row of the selected file ids from every table in one commit (consent
  withdrawal), optionally purging the bytes at once (`purge`: rewrite the affected files, expire every
  older snapshot, delete the old files).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from silake.schemas.tables import LARGE_TABLES, SAMPLE_TABLES, SHARD_TABLES

from . import lease
from .catalog import Lake
from .commit import CHANGED_COLUMNS
from .session import ALIAS, CatalogWriter, live_data_files
from .sqltext import quote, sql_literal

log = logging.getLogger(__name__)

#: An ingest compacts automatically once one small table holds more data files than this ...
COMPACT_THRESHOLD = 64
#: ... merging only files smaller than this, so a merged file is rewritten a bounded number of times (a
#: few MB per partition and table per compaction, however large the lake grows).
AUTO_COMPACT_MAX_FILE_BYTES = 8 << 20
SMALL_TABLES: tuple[str, ...] = (*tuple(t for t in SHARD_TABLES if t not in LARGE_TABLES), "ingest_shards")
_KEYS_VIEW = "silake_delete_keys"


def file_counts(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] = SMALL_TABLES, *,
                smaller_than: int | None = None) -> dict[str, int]:
    """Live data files per table (from the catalog; no listing), only those under `smaller_than` if given."""
    return {t: sum(1 for _, size in files if smaller_than is None or size < smaller_than)
            for t, files in live_data_files(con, tables).items()}


def compact(writer: CatalogWriter, tables: tuple[str, ...] = SMALL_TABLES, *,
            max_file_bytes: int | None = None) -> dict[str, tuple[int, int]]:
    """Flush inlined rows and merge the small files of `tables` (only files under `max_file_bytes`, when
    given); returns table -> (files before, files after)."""
    con = writer.con
    assert con is not None
    before = file_counts(con, tables)
    limit = f", max_file_size => {int(max_file_bytes)}" if max_file_bytes else ""
    for table in tables:
        con.execute(f"CALL ducklake_flush_inlined_data({sql_literal(ALIAS)}, table_name => {sql_literal(table)})"
                    ).fetchall()
        con.execute(f"CALL ducklake_merge_adjacent_files({sql_literal(ALIAS)}, {sql_literal(table)}{limit})"
                    ).fetchall()
    writer.publish()
    after = file_counts(con, tables)
    return {t: (before[t], after[t]) for t in tables}


def maybe_compact(writer: CatalogWriter, threshold: int | None = None) -> dict[str, tuple[int, int]] | None:
    """Compact (files under AUTO_COMPACT_MAX_FILE_BYTES) when some small table has more than `threshold`
    files (default COMPACT_THRESHOLD); None when nothing needed it."""
    assert writer.con is not None
    counts = file_counts(writer.con, smaller_than=AUTO_COMPACT_MAX_FILE_BYTES)
    if max(counts.values(), default=0) <= (COMPACT_THRESHOLD if threshold is None else threshold):
        return None
    return compact(writer, max_file_bytes=AUTO_COMPACT_MAX_FILE_BYTES)


@dataclass
class VacuumReport:
    snapshots_expired: int = 0
    files_deleted: int = 0
    orphans_deleted: int = 0
    details: list[str] = field(default_factory=list)


def vacuum(writer: CatalogWriter, *, older_than: str | None = None) -> VacuumReport:
    """Expire snapshots older than `older_than` (an interval such as '7 days'; default: the lake's retention),
    then delete the files no snapshot needs and the files no snapshot ever referenced."""
    con = writer.con
    assert con is not None
    report = VacuumReport()
    expire = (f"CALL ducklake_expire_snapshots({sql_literal(ALIAS)}, older_than => now() - INTERVAL "
              f"{sql_literal(older_than)})" if older_than else f"CALL ducklake_expire_snapshots({sql_literal(ALIAS)})")
    report.snapshots_expired = len(con.execute(expire).fetchall())
    report.files_deleted = len(con.execute(
        f"CALL ducklake_cleanup_old_files({sql_literal(ALIAS)}, cleanup_all => true)").fetchall())
    # Only the lease holder writes data files, and it is us: everything unreferenced is garbage.
    report.orphans_deleted = len(con.execute(
        f"CALL ducklake_delete_orphaned_files({sql_literal(ALIAS)}, older_than => now())").fetchall())
    writer.publish()
    return report


@dataclass
class DeleteReport:
    files: int  # file ids (file_id, label, split) selected
    rows: dict[str, int]  # rows deleted per table
    snapshot: int | None
    purged: bool = False


def delete_files(writer: CatalogWriter, predicate: str, *, purge: bool = False) -> DeleteReport:
    """Delete every row of the files `predicate` (SQL over `files`) selects, from every table, in one commit.

    The metadata rows go too: `filelist` rows of those file ids, and `participants` rows of participants
    who have no file left. With `purge`, the bytes are removed at once: the affected data files are
    rewritten without the rows and every older snapshot is expired, so the old files are deleted.
    """
    con = writer.con
    assert con is not None
    keys = con.execute(f"SELECT DISTINCT {', '.join(CHANGED_COLUMNS)} FROM files WHERE {predicate}"
                       ).to_arrow_table()
    if keys.num_rows == 0:
        return DeleteReport(0, {}, None)
    rows: dict[str, int] = {}

    def body(c: duckdb.DuckDBPyConnection) -> None:
        c.register(_KEYS_VIEW, keys)
        try:
            match = f"EXISTS (SELECT 1 FROM {_KEYS_VIEW} AS k WHERE k.file_id = t.file_id AND k.label = t.label " \
                    "AND k.split = t.split)"
            for table in (*SAMPLE_TABLES, "quarantine", "filelist"):
                n = c.execute(f"DELETE FROM {quote(table)} AS t WHERE {match}").fetchone()
                rows[table] = int(n[0]) if n else 0
            n = c.execute(
                f"DELETE FROM participants AS t WHERE EXISTS (SELECT 1 FROM {_KEYS_VIEW} AS k WHERE "
                "k.vendor_id = t.vendor_id AND k.participant_id = t.participant_id) AND NOT EXISTS "
                "(SELECT 1 FROM files AS f WHERE f.vendor_id = t.vendor_id AND f.participant_id = t.participant_id)"
            ).fetchone()
            rows["participants"] = int(n[0]) if n else 0
        finally:
            c.unregister(_KEYS_VIEW)
        writer.derive(c, keys)

    snapshot = writer.transaction(body, message=f"delete where {predicate}",
                                  extra={"delete": predicate, "files": keys.num_rows})
    report = DeleteReport(keys.num_rows, rows, snapshot)
    if purge:
        purge_deleted(writer, snapshot)
        report.purged = True
    return report


def purge_deleted(writer: CatalogWriter, snapshot: int) -> None:
    """Physically remove deleted rows: rewrite files with deletes, expire snapshots before `snapshot`'s
    successor, delete every file no snapshot needs any more."""
    con = writer.con
    assert con is not None

    def auto_compact(table: str, on: bool) -> None:
        con.execute(f"CALL {ALIAS}.set_option('auto_compact', {str(on).lower()}, table_name => {sql_literal(table)})")

    for table in LARGE_TABLES:  # compaction leaves them alone, a purge may not
        auto_compact(table, True)
    try:
        for table in (*SAMPLE_TABLES, "quarantine", "filelist", "participants"):
            con.execute(f"CALL ducklake_rewrite_data_files({sql_literal(ALIAS)}, {sql_literal(table)}, "
                        "delete_threshold => 0)").fetchall()
    finally:
        for table in LARGE_TABLES:
            auto_compact(table, False)
    older = [r[0] for r in con.execute(
        f"SELECT snapshot_id FROM ducklake_snapshots({sql_literal(ALIAS)}) WHERE snapshot_id < "
        f"(SELECT max(snapshot_id) FROM ducklake_snapshots({sql_literal(ALIAS)}))").fetchall()]
    if older:
        con.execute(f"CALL ducklake_expire_snapshots({sql_literal(ALIAS)}, versions => "
                    f"[{', '.join(str(v) for v in older)}])").fetchall()
    con.execute(f"CALL ducklake_cleanup_old_files({sql_literal(ALIAS)}, cleanup_all => true)").fetchall()
    writer.publish()
    log.info("purged deleted rows at %s", datetime.now(UTC).isoformat())


@contextmanager
def locked_writer(lake: Lake, purpose: str) -> Iterator[CatalogWriter]:
    """The catalog opened for writing under the lake's lease (raises LeaseHeld while an ingest runs), with
    every core: compaction and deletes rewrite data files."""
    held = lease.acquire(lake.storage, f"{purpose}-{uuid.uuid4().hex[:8]}")
    try:
        with CatalogWriter(lake, threads=None) as writer, lease.Heartbeat(lake.storage, held):
            writer.fence_with(held)
            yield writer
    finally:
        lease.release(lake.storage, held)
