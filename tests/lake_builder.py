"""Build a lake from Arrow tables through the lake's own write path, and read tables back from it.

`write_lake` stages each shard's tables with the real `ShardWriter` and commits them with the real commit
step (`commit_batch`), then the release-wide tables and the SQL layer's views - so every test lake is a
real DuckLake lake, written exactly as an ingest writes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from silake.lake import lease
from silake.lake.catalog import locate_lake
from silake.lake.commit import CommitRecord
from silake.lake.committer import Committer, commit_batch
from silake.lake.release_tables import commit_release_tables
from silake.lake.session import CatalogWriter
from silake.lake.shard_writer import ShardWriter
from silake.lake.staging import Claim, ShardManifest, new_attempt, settle, write_claim
from silake.query.connection import connect
from silake.query.views import publish_views
from silake.schemas.tables import QUARANTINE, SHARD_TABLES, TABLES

RUN_ID = "20260101T000000Z-test0001"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class ShardData:
    """One shard's rows by table (sample schemas: without shard_key), and its commit row's facts."""

    label: str
    split: str
    shard_key: str
    shard_uri: str
    tables: dict[str, pa.Table | pa.RecordBatch] = field(default_factory=dict)
    size: int = 0
    etag: str | None = None
    batch_idx: int | None = 0
    archive_idx: int | None = 0
    status: str = "ok"
    bytes_fetched: int = 0
    run_id: str = RUN_ID


def write_lake(root: Path | str, shards: list[ShardData], release: dict[str, pa.Table] | None = None,
               *, catalog: str | None = None) -> Path | str:
    """Write `shards` (one commit) and the release-wide tables `release` into a lake at `root`."""
    lake = locate_lake(str(root), catalog, must_exist=False)
    storage = lake.storage
    manifests = []
    for shard in shards:
        claim = Claim(shard.run_id, shard.label, shard.split, shard.shard_key, new_attempt())
        write_claim(storage, claim)
        writer = ShardWriter(storage, claim, SHARD_TABLES)
        for name, rows in shard.tables.items():
            batches = rows.to_batches() if isinstance(rows, pa.Table) else [rows]
            for batch in batches:
                writer.add(name, batch)
        table_rows = writer.rows()
        files = writer.publish()
        n = table_rows.get("files", 0)
        commit = CommitRecord(shard.shard_uri, shard.shard_key, shard.label, shard.split, shard.batch_idx,
                              shard.archive_idx, shard.size, shard.etag, shard.status, n, n, 0, table_rows,
                              shard.bytes_fetched, shard.run_id, claim.attempt, NOW, NOW)
        manifests.append(ShardManifest(claim, files, commit))
    lease.acquire(storage, RUN_ID)
    try:
        with CatalogWriter(lake) as writer:
            if manifests:
                commit_batch(writer, manifests, message="test lake")
                for m in manifests:
                    settle(storage, m.claim)
            if release:
                commit_release_tables(writer, release, QUARANTINE.empty_table(), run_id=RUN_ID)
            publish_views(writer)
    finally:
        lease.release(storage, RUN_ID)
    return root


def read_table(lake: Path | str, table: str, *, snapshot: int | None = None) -> pa.Table:
    """Every row of a lake table, through the catalog (label and split included for per-shard tables)."""
    con = connect(str(lake), snapshot=snapshot)
    try:
        return con.sql(f'SELECT * FROM lake.main."{table}"').to_arrow_table()
    finally:
        con.close()


def sample_rows(table: str, rows: list[dict]) -> pa.Table:
    """Rows of a per-shard table with its sample schema (what decoding produces)."""
    return pa.Table.from_pylist(rows, schema=TABLES[table].sample_schema)


def commit_staged(lake: Path | str, run_id: str) -> list[CommitRecord]:
    """Commit what `ingest_shard` staged for `run_id` (what the launcher's commit step does)."""
    target = locate_lake(str(lake), must_exist=False)
    with CatalogWriter(target) as writer:
        committer = Committer(writer, run_id)
        committer.finish()
        return committer.committed
