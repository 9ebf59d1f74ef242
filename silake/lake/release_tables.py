"""The release-wide tables (the metadata CSVs) and their quarantine rows, replaced only when they change.

Each table is one data file named by the hash of its content, so whether the lake already holds the same
content is read off the catalog's file list (no data is read). Changed tables are replaced in one commit:
their old rows deleted, the new file registered. The CSVs' rejected rows are the quarantine rows of
partition label=unknown/split=unknown, shard_key 'metadata'.
"""

from __future__ import annotations

import hashlib
import posixpath

import duckdb
import pyarrow as pa

from silake.schemas.tables import TABLES

from .layout import table_dir
from .parquet import table_bytes
from .session import ALIAS, CatalogWriter, live_data_files
from .sqltext import quote, sql_literal

METADATA_SHARD = ("unknown", "unknown", "metadata")  # (label, split, shard_key) of metadata quarantine rows


def _planned(name: str, table: pa.Table) -> tuple[str, bytes]:
    """(path relative to the root, bytes) of a release-wide table's file, named by its content hash."""
    data = table_bytes(table)
    digest = hashlib.sha256(data).hexdigest()[:16]
    if name == "quarantine":
        label, split, key = METADATA_SHARD
        return f"{table_dir(name)}/label={label}/split={split}/{key}-{digest}.parquet", data
    return f"{table_dir(name)}/{name}-{digest}.parquet", data


def commit_release_tables(writer: CatalogWriter, tables: dict[str, pa.Table], quarantine: pa.Table,
                          *, run_id: str) -> list[str]:
    """Replace every table in `tables` (name -> rows with the table's schema) whose content changed, and the
    metadata quarantine rows (`quarantine`: QUARANTINE sample-schema rows); returns the tables changed."""
    con = writer.con
    assert con is not None
    key = pa.scalar(METADATA_SHARD[2], pa.string())
    wanted: dict[str, pa.Table | None] = dict(tables)
    wanted["quarantine"] = (quarantine.append_column("shard_key", pa.repeat(key, quarantine.num_rows))
                            if quarantine.num_rows else None)
    changes: dict[str, tuple[str, bytes] | None] = {}
    files = live_data_files(con, wanted)
    for name, table in wanted.items():
        current = {posixpath.basename(path) for path, _ in files[name]}
        if name == "quarantine":
            _label, _split, shard = METADATA_SHARD
            current = {f for f in current if f.startswith(f"{shard}-")}
        if table is None:
            if current:
                changes[name] = None
            continue
        rel, data = _planned(name, table.cast(TABLES[name].schema))
        if current != {posixpath.basename(rel)}:
            changes[name] = (rel, data)
    if not changes:
        return []
    storage = writer.lake.storage
    for change in changes.values():
        if change is not None:
            storage.publish_bytes(change[1], storage.path(change[0]))

    def body(c: duckdb.DuckDBPyConnection) -> None:
        for name, change in sorted(changes.items()):
            if name == "quarantine":
                label, split, shard = METADATA_SHARD
                c.execute(f"DELETE FROM quarantine WHERE label = {sql_literal(label)} AND split = "
                          f"{sql_literal(split)} AND shard_key = {sql_literal(shard)}")
            else:
                c.execute(f"DELETE FROM {quote(name)}")
            if change is not None:
                c.execute(f"CALL ducklake_add_data_files({sql_literal(ALIAS)}, {sql_literal(name)}, "
                          f"{sql_literal(writer.lake.data_path + change[0])}, hive_partitioning => true)").fetchall()
        writer.derive(c, None)  # metadata feed many QA flags: recompute them all

    writer.transaction(body, message=f"metadata tables of run {run_id}",
                       extra={"run_id": run_id, "metadata_tables": sorted(changes)})
    return sorted(changes)
