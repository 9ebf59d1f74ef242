"""The commit log: one `ingest_shards` row per processed shard, written after all of that shard's files.

A shard counts as committed when its row exists with status 'ok' or 'truncated' (the damage is in the
bytes; re-reading the same bytes cannot help). A 'failed' shard (unreachable, or an error outside the data)
is retried by the next run. Changed shards (other size or etag) are re-processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.dataset as ds

from silake.schemas.tables import INGEST_SHARDS, PARTITION_SCHEMA

from .layout import shard_table_path, table_glob
from .parquet import table_bytes
from .storage import LakeStorage

DONE_STATUSES = frozenset({"ok", "truncated"})


@dataclass(frozen=True)
class CommitRecord:
    """One row of `ingest_shards`."""

    shard_uri: str
    shard_key: str
    label: str
    split: str
    batch_idx: int | None
    archive_idx: int | None
    size: int
    etag: str | None
    status: str
    samples_seen: int
    files_rows: int
    quarantined_samples: int
    table_rows: dict[str, int]
    bytes_fetched: int
    run_id: str
    started_at: datetime
    finished_at: datetime

    def to_table(self) -> pa.Table:
        row = {f.name: getattr(self, f.name) for f in INGEST_SHARDS}
        row["table_rows"] = sorted(self.table_rows.items())
        return pa.Table.from_pylist([row], schema=INGEST_SHARDS)


def write_commit(storage: LakeStorage, record: CommitRecord) -> None:
    """Publish the shard's commit row (call only after every other file of the shard is in place)."""
    dest = storage.path(shard_table_path("ingest_shards", record.label, record.split, record.shard_key))
    storage.publish_bytes(table_bytes(record.to_table()), dest)


def read_commits(storage: LakeStorage) -> pa.Table:
    """Every commit row in the lake, with its label and split (empty table for a new lake).

    One dataset read: pyarrow fetches the per-shard files concurrently, which matters for thousands of
    shards on an object store.
    """
    schema = pa.unify_schemas([INGEST_SHARDS, PARTITION_SCHEMA])
    paths = sorted(storage.fs.glob(storage.path(table_glob("ingest_shards"))))
    if not paths:
        return schema.empty_table()
    dataset = ds.dataset(paths, schema=schema, filesystem=storage.fs, format="parquet",
                         partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
                         partition_base_dir=storage.path("ingest_shards"))
    return dataset.to_table()


def committed_versions(storage: LakeStorage) -> dict[tuple[str, str, str], tuple[int, str | None]]:
    """(label, split, shard_key) -> (size, etag) of every shard committed as done."""
    out: dict[tuple[str, str, str], tuple[int, str | None]] = {}
    for row in read_commits(storage).to_pylist():
        if row["status"] in DONE_STATUSES:
            out[(row["label"], row["split"], row["shard_key"])] = (row["size"], row["etag"])
    return out
